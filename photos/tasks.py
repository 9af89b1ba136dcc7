"""Celery tasks of the photos app: thin wrappers around services."""

from celery import shared_task
from django.db.models import F

from photos.harvest import harvest_photos
from photos.models import City
from photos.sources import get_source


@shared_task
def harvest_photos_task(city_ids: list[int], source: str = "wikimedia", per_city: int = 20) -> dict:
    """Harvest photos for these cities (most populous first); returns the summary as a dict."""
    cities = City.objects.filter(pk__in=city_ids).order_by(F("population").desc(nulls_last=True), "name")
    return harvest_photos(cities=list(cities), source=get_source(source), per_city=per_city).as_dict()
