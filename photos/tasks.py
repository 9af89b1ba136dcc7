"""Celery tasks of the photos app: thin wrappers around services."""

from celery import shared_task
from django.db.models import F

from cityvibes_site.celery import TaskProgress
from photos.harvest import CityHarvest, harvest_photos
from photos.models import City
from photos.sources import get_source


@shared_task(bind=True)
def harvest_photos_task(self, city_ids: list[int], source: str = "wikimedia", per_city: int = 20) -> dict:
    """Harvest photos for these cities (most populous first); returns the summary as a dict.

    Reports PROGRESS after each city: {"stage": "cities", "done", "total", "imported", "city"}.
    """
    cities = list(City.objects.filter(pk__in=city_ids).order_by(F("population").desc(nulls_last=True), "name"))
    advance = TaskProgress(self).stage("cities", len(cities), imported=0)
    imported = 0

    def city_finished(row: CityHarvest) -> None:
        nonlocal imported
        imported += row.imported
        advance(1, imported=imported, city=row.city.display_name)

    return harvest_photos(
        cities=cities, source=get_source(source), per_city=per_city, on_progress=city_finished
    ).as_dict()
