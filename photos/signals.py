"""Cities changing (admin edits, load_cities, deletes) bump the collection version.

Per-process caches keyed on it (the photo matrix, the city names the swipe API answers with) then
pick up the change. Deleting a city also unlabels its photos (SET_NULL, which sends no Photo
signal), so the photo matrix must be rebuilt then too.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from photos.models import City
from photos.services import bump_collection_version


@receiver(post_save, sender=City, dispatch_uid="cityvibes-city-saved")
@receiver(post_delete, sender=City, dispatch_uid="cityvibes-city-deleted")
def city_changed(sender, **kwargs) -> None:
    bump_collection_version()
