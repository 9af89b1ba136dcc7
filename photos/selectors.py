"""Reads for the photos app: what the collection holds, as the pages and scripts/run tell it."""

from dataclasses import dataclass

from photos.models import DEMO_SOURCE, Photo


@dataclass(frozen=True)
class CollectionStatus:
    photos: int  # every photo, hidden ones too
    servable: int  # what the swipe page can show
    cities: int  # cities with at least one servable photo
    demo_only: bool  # every servable photo is a generated demo picture


def collection_status() -> CollectionStatus:
    servable = Photo.objects.servable()
    count = servable.count()
    return CollectionStatus(
        photos=Photo.objects.count(),
        servable=count,
        cities=servable.exclude(city=None).values("city").distinct().count(),
        demo_only=collection_is_demo(),
    )


def collection_is_demo() -> bool:
    """Whether the swipe page shows only generated demo pictures (and none of a real source)."""
    servable = Photo.objects.servable()
    return servable.exists() and not servable.exclude(source=DEMO_SOURCE).exists()
