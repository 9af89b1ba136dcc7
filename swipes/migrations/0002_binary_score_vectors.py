"""Scores and swipe contributions move from JSON (one entry per city) to binary vectors.

Each swipe's contribution is converted to float64 values; each swiper's scores are then replayed
from their live swipes in log order, so stored scores equal the replay of the converted log exactly.
"""

import numpy as np
from django.db import migrations, models

CITY = np.dtype("<i8")
SCORE = np.dtype("<f8")
CONTRIBUTION = np.dtype("<f8")


def _to_arrays(mapping):
    items = sorted((int(k), float(v)) for k, v in (mapping or {}).items())
    return np.array([k for k, _ in items], dtype=CITY), np.array([v for _, v in items], dtype=np.float64)


def forwards(apps, schema_editor):
    UserSwipeData = apps.get_model("swipes", "UserSwipeData")
    Swipe = apps.get_model("swipes", "Swipe")
    for swipe in Swipe.objects.order_by("pk").iterator(chunk_size=500):
        cities, values = _to_arrays(swipe.contribution)
        swipe.contribution_cities = cities.tobytes()
        swipe.contribution_values = values.astype(CONTRIBUTION).tobytes()
        swipe.save(update_fields=["contribution_cities", "contribution_values"])
    for swiper in UserSwipeData.objects.order_by("pk").iterator(chunk_size=500):
        totals: dict[int, float] = {}
        live = Swipe.objects.filter(user_data=swiper, retracted_at__isnull=True).order_by("id")
        for cities_raw, values_raw in live.values_list("contribution_cities", "contribution_values"):
            cities = np.frombuffer(bytes(cities_raw), dtype=CITY)
            values = np.frombuffer(bytes(values_raw), dtype=CONTRIBUTION).astype(np.float64)
            for city, value in zip(cities.tolist(), values.tolist()):
                totals[city] = totals.get(city, 0.0) + value
        cities, values = _to_arrays({str(k): v for k, v in totals.items()})
        swiper.score_cities = cities.tobytes()
        swiper.score_values = values.astype(SCORE).tobytes()
        swiper.save(update_fields=["score_cities", "score_values"])


def backwards(apps, schema_editor):
    UserSwipeData = apps.get_model("swipes", "UserSwipeData")
    Swipe = apps.get_model("swipes", "Swipe")

    def as_dict(cities_raw, values_raw, dtype):
        cities = np.frombuffer(bytes(cities_raw or b""), dtype=CITY)
        values = np.frombuffer(bytes(values_raw or b""), dtype=dtype)
        return {str(k): float(v) for k, v in zip(cities.tolist(), values.tolist())}

    for swipe in Swipe.objects.order_by("pk").iterator(chunk_size=500):
        swipe.contribution = as_dict(swipe.contribution_cities, swipe.contribution_values, CONTRIBUTION)
        swipe.save(update_fields=["contribution"])
    for swiper in UserSwipeData.objects.order_by("pk").iterator(chunk_size=500):
        swiper.scores = as_dict(swiper.score_cities, swiper.score_values, SCORE)
        swiper.save(update_fields=["scores"])


class Migration(migrations.Migration):
    dependencies = [("swipes", "0001_initial")]

    operations = [
        migrations.AddField("userswipedata", "score_cities", models.BinaryField(blank=True, default=b"")),
        migrations.AddField("userswipedata", "score_values", models.BinaryField(blank=True, default=b"")),
        migrations.AddField("swipe", "contribution_cities", models.BinaryField(default=b"")),
        migrations.AddField("swipe", "contribution_values", models.BinaryField(default=b"")),
        migrations.AlterField(
            "swipe",
            "contribution",
            models.JSONField(null=True, help_text="What this swipe added to the score of each city id."),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField("userswipedata", "scores"),
        migrations.RemoveField("swipe", "contribution"),
    ]
