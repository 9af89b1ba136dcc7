"""Test data made on the spot: cities, Pillow-drawn photos, model versions."""

import io
import itertools

from PIL import Image, ImageDraw

from ml.models import ModelVersion
from photos.models import City, Photo
from photos.services import PhotoCredit, city_get_or_create, ingest_photo

_counter = itertools.count(1)


def image_bytes(
    *, colour: tuple[int, int, int] | None = None, size=(320, 240), fmt="JPEG", seed: int | None = None
) -> bytes:
    """A small real image; different seeds give different bytes (so different content hashes)."""
    n = seed if seed is not None else next(_counter)
    colour = colour or ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256)
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    x = (n * 7) % (size[0] - 20)
    draw.rectangle([x, 0, x + 20, size[1] // 2], fill=(255 - colour[0], 80, 160))
    draw.text((10, 10), f"#{n}", fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
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


def make_demo_collection(*, cities: int = 3, per_city: int = 8, seed: int = 1) -> dict[City, list[Photo]]:
    """Labelled synthetic photos with a distinct look per city (photos.demo), ingested like real ones."""
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
            result = ingest_photo(data=buffer.getvalue(), city=city, credit=PhotoCredit(source="test"))
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
