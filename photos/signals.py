"""Cities changing (admin edits, load_cities, deletes) bump the collection version.

Per-process caches keyed on it (the photo matrix, the city names the swipe API answers with) then
pick up the change. Deleting a city also unlabels its photos (SET_NULL, which sends no Photo
signal), so the photo matrix must be rebuilt then too.

Each web request reads the version at most once (photos.services.collection_version's memo, started
and ended here).
"""

from django.core.signals import request_finished, request_started
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from photos.models import City
from photos.services import bump_collection_version, end_request_memo, start_request_memo


@receiver(request_started, dispatch_uid="cityvibes-collection-version-memo-start")
def request_started_memo(sender, **kwargs) -> None:
    start_request_memo()


@receiver(request_finished, dispatch_uid="cityvibes-collection-version-memo-end")
def request_finished_memo(sender, **kwargs) -> None:
    end_request_memo()


@receiver(post_save, sender=City, dispatch_uid="cityvibes-city-saved")
@receiver(post_delete, sender=City, dispatch_uid="cityvibes-city-deleted")
def city_changed(sender, **kwargs) -> None:
    bump_collection_version()
