"""PostgreSQL: store the score vectors uncompressed (STORAGE EXTERNAL).

Rows with vectors over ~2 kB (256 cities and up) made PostgreSQL try pglz compression on every
insert and update. Float64 values barely compress, so this was pure CPU: 0.86 ms of PostgreSQL
time per swipe at 256 cities, 0.24 ms with EXTERNAL (measured with the swipe's three statements).
Other databases: nothing to do.
"""

from django.db import migrations

COLUMNS = {
    "swipes_userswipedata": ("score_cities", "score_values"),
    "swipes_swipe": ("contribution_cities", "contribution_values"),
}


def set_storage(storage: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        for table, columns in COLUMNS.items():
            changes = ", ".join(f"ALTER COLUMN {quote(c)} SET STORAGE {storage}" for c in columns)
            schema_editor.execute(f"ALTER TABLE {quote(table)} {changes}")

    return run


class Migration(migrations.Migration):
    dependencies = [("swipes", "0002_binary_score_vectors")]

    operations = [migrations.RunPython(set_storage("EXTERNAL"), set_storage("EXTENDED"))]
