import django.db.models.deletion
from django.db import migrations, models

# Entries keep their indices and pending entries stay pending; 0006 then drops
# the column. Plain SQL, the same on PostgreSQL and SQLite, one statement per
# table however long the log.
COPY_INDICES = [
    "INSERT INTO ledger_logindex (log_index, entry_id)"
    " SELECT log_index, id FROM ledger_entry WHERE log_index IS NOT NULL",
    "INSERT INTO ledger_pendingentry (entry_id, leaf_hash)"
    " SELECT id, leaf_hash FROM ledger_entry WHERE log_index IS NULL",
]
COPY_INDICES_BACK = [
    "UPDATE ledger_entry SET log_index ="
    " (SELECT l.log_index FROM ledger_logindex l WHERE l.entry_id = ledger_entry.id)",
]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_entry_data_out_of_line")]

    operations = [
        migrations.CreateModel(
            name="LogIndex",
            fields=[
                (
                    "index",
                    models.BigIntegerField(db_column="log_index", primary_key=True, serialize=False),
                ),
                (
                    "entry",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sealed",
                        to="ledger.entry",
                    ),
                ),
            ],
            options={"verbose_name_plural": "log indices"},
        ),
        migrations.CreateModel(
            name="PendingEntry",
            fields=[
                (
                    "entry",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="pending",
                        serialize=False,
                        to="ledger.entry",
                    ),
                ),
                ("leaf_hash", models.BinaryField(max_length=32)),
            ],
        ),
        migrations.RunSQL(COPY_INDICES, COPY_INDICES_BACK),
    ]
