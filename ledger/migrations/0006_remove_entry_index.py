from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_logindex_pendingentry")]

    operations = [
        migrations.RemoveIndex(model_name="entry", name="ledger_entry_pending"),
        migrations.RemoveField(model_name="entry", name="index"),
    ]
