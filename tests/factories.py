"""Test data made on the spot: cities, Pillow-drawn photos, model versions."""

import io
import itertools

import numpy as np
from PIL import Image

from ml.models import ModelVersion
from photos.models import City, Photo
from photos.services import PhotoCredit, city_get_or_create, ingest_photo

_counter = itertools.count(1)


def image_bytes(
    *, colour: tuple[int, int, int] | None = None, size=(320, 240), fmt="JPEG", seed: int | None = None
) -> bytes:
    """A small photo-like image; different seeds give different pictures (content and perceptual hashes).

    Like a camera photo for the quality gate (photos.quality): a sky-to-ground gradient in a random
    direction, a few blocks ("buildings") in random places, and grain everywhere, so no few colours
    cover it and no two seeds look alike (perceptual hashes at least 12 of 64 bits apart over 300 seeds).
    """
    n = seed if seed is not None else next(_counter)
    rng = np.random.default_rng(n)
    width, height = size
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    columns = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    along = np.float32(np.cos(angle)) * columns + np.float32(np.sin(angle)) * rows
    along = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
    start = np.array(colour, dtype=np.float32) if colour else rng.uniform(30, 225, 3).astype(np.float32)
    pixels = start + (rng.uniform(30, 225, 3).astype(np.float32) - start) * along[..., None]
    for _ in range(rng.integers(3, 8)):
        x, y = rng.integers(0, width), rng.integers(0, height)
        w, h = rng.integers(width // 10 + 1, width // 2 + 2), rng.integers(height // 8 + 1, height // 2 + 2)
        block = rng.uniform(20, 235, 3).astype(np.float32)
        pixels[y : y + h, x : x + w] = pixels[y : y + h, x : x + w] * 0.4 + block * 0.6
    blotches = rng.standard_normal((height // 4 + 1, width // 4 + 1, 3), dtype=np.float32) * rng.uniform(8, 20)
    pixels += np.repeat(np.repeat(blotches, 4, 0), 4, 1)[:height, :width]
    pixels += rng.standard_normal((height, width, 3), dtype=np.float32) * 3
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


def make_city(name: str | None = None, *, country: str = "US", region: str = "") -> City:
    city, _ = city_get_or_create(name=name or f"City {next(_counter)}", country=country, region=region)
    return city


def make_photo(city: City | None = None, **credit: str) -> Photo:
    result = ingest_photo(data=image_bytes(), city=city, credit=PhotoCredit(**credit))
    assert result.status == "imported", result.reason
    return result.photo


def make_model_version(cities: list[City], *, active: bool = True, name: str | None = None) -> ModelVersion:
    return ModelVersion.objects.create(
        name=name or f"test-model-{next(_counter)}",
        backbone="efficientnet_lite0",
        cities=[c.pk for c in cities],
        is_active=active,
    )


def set_prediction(photo: Photo, model_version: ModelVersion, probabilities: list[float]) -> Photo:
    from photos.services import bump_collection_version

    photo.probabilities = probabilities
    photo.model_version = model_version
    photo.save(update_fields=["probabilities", "model_version"])
    bump_collection_version()
    return photo


def make_distinct_cities(names: tuple[str, ...], *, per_city: int) -> list[City]:
    """Cities under an active model, `per_city` photos each, every photo's vector naming its own city
    (0.85, 0.05 for each other)."""
    cities = [make_city(name) for name in names]
    version = make_model_version(cities)
    for i, city in enumerate(cities):
        for _ in range(per_city):
            set_prediction(make_photo(city), version, [0.85 if j == i else 0.05 for j in range(len(names))])
    return cities


def make_demo_collection(*, cities: int = 3, per_city: int = 8, seed: int = 1) -> dict[City, list[Photo]]:
    """Labelled synthetic photos with a distinct look per city (photos.demo), ingested like real ones.

    They are flat drawings, which the quality gate refuses as clip art: like scripts/run --demo, they
    come in with the gate off.
    """
    import random

    from photos.demo import DEMO_CITIES, draw_photo

    rng = random.Random(seed)
    collection: dict[City, list[Photo]] = {}
    for name, base, accent, motif in DEMO_CITIES[:cities]:
        city = make_city(name.split(",")[0])
        collection[city] = []
        for _ in range(per_city):
            buffer = io.BytesIO()
            draw_photo(rng, base, accent, motif).save(buffer, format="JPEG", quality=88)
            result = ingest_photo(
                data=buffer.getvalue(), city=city, credit=PhotoCredit(source="test"), quality_gate=False
            )
            collection[city].append(result.photo)
    return collection


def make_tiny_model():
    """Two demo cities, three photos each, and an active model trained on them in a few seconds."""
    from ml.services import TrainingOptions, train_model_version

    make_demo_collection(cities=2, per_city=3)
    options = TrainingOptions(epochs=5, augment_views=0, min_photos_per_city=3, activate=True)
    return train_model_version(options=options).version


def replayed_scores(swiper) -> dict[str, float]:
    """What the swiper's live swipes add up to, replayed from the log (what stored scores must equal)."""
    from swipes.models import Swipe
    from swipes.vectors import replay

    live = (
        Swipe.objects.filter(user_data=swiper, retracted_at__isnull=True).order_by("id").select_related("contribution")
    )
    return replay(swipe.contribution.vector for swipe in live).as_dict()


def stored_scores(swiper) -> dict[str, float]:
    """The swiper's scores as stored in the database, by city id (as text)."""
    from swipes.models import UserSwipeData

    return UserSwipeData.objects.get(pk=swiper.pk).scores.as_dict()
