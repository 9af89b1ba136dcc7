"""The swipe log refers to a shared, immutable contribution vector instead of holding one per swipe.

Every swipe of the same photo (liked, or disliked) under the same rule and vectors adds the same
vector, so each distinct vector is stored once (found by a digest of its bytes) and swipes point
to it. The numbers do not change: each swipe refers to exactly the bytes it held, so the stored
scores still equal a replay of the log.
"""

import hashlib

from django.db import migrations, models


def _digest(cities: bytes, values: bytes) -> bytes:
    # As swipes.score_vectors.CityVector.digest: int64 ids then float64 values, as stored.
    return hashlib.blake2b(cities + values, digest_size=32).digest()


def forwards(apps, schema_editor):
    Swipe = apps.get_model("swipes", "Swipe")
    Contribution = apps.get_model("swipes", "Contribution")
    ids: dict[bytes, int] = {}
    batch = []
    for swipe in Swipe.objects.order_by("pk").iterator(chunk_size=1000):
        cities, values = bytes(swipe.contribution_cities or b""), bytes(swipe.contribution_values or b"")
        digest = _digest(cities, values)
        if digest not in ids:
            ids[digest] = Contribution.objects.create(digest=digest, vector_cities=cities, vector_values=values).pk
        swipe.contribution_id = ids[digest]
        batch.append(swipe)
        if len(batch) >= 1000:
            Swipe.objects.bulk_update(batch, ["contribution"])
            batch = []
    Swipe.objects.bulk_update(batch, ["contribution"])


def backwards(apps, schema_editor):
    Swipe = apps.get_model("swipes", "Swipe")
    batch = []
    for swipe in Swipe.objects.select_related("contribution").order_by("pk").iterator(chunk_size=1000):
        swipe.contribution_cities = swipe.contribution.vector_cities
        swipe.contribution_values = swipe.contribution.vector_values
        batch.append(swipe)
        if len(batch) >= 1000:
            Swipe.objects.bulk_update(batch, ["contribution_cities", "contribution_values"])
            batch = []
    Swipe.objects.bulk_update(batch, ["contribution_cities", "contribution_values"])


class Migration(migrations.Migration):
    dependencies = [("swipes", "0003_score_vectors_stored_uncompressed")]

    operations = [
        migrations.CreateModel(
            name="Contribution",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.BinaryField(editable=False, max_length=32, unique=True)),
                ("vector_cities", models.BinaryField(editable=False)),
                ("vector_values", models.BinaryField(editable=False)),
            ],
        ),
        migrations.AddField(
            "swipe",
            "contribution",
            models.ForeignKey(
                null=True, on_delete=models.PROTECT, related_name="swipes", to="swipes.contribution"
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField("swipe", "contribution_cities"),
        migrations.RemoveField("swipe", "contribution_values"),
        migrations.AlterField(
            "swipe",
            "contribution",
            models.ForeignKey(
                help_text="What the swipe added to each city.",
                on_delete=models.PROTECT,
                related_name="swipes",
                to="swipes.contribution",
            ),
        ),
    ]
