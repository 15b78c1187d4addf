from django.db import migrations, models

LEVEL_SHIFT = 56


def fill_keys(apps, schema_editor):
    tree_chunk = apps.get_model("ledger", "TreeChunk")
    for row in tree_chunk.objects.all().only("pk", "level", "chunk"):
        row.key = (row.level << LEVEL_SHIFT) | row.chunk
        row.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="treechunk", name="key", field=models.BigIntegerField(null=True)
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="treechunk", name="key", field=models.BigIntegerField(unique=True)
        ),
        migrations.RemoveConstraint(model_name="treechunk", name="tree_chunk_unique"),
    ]
