"""Writes for the ml app."""

from django.db import transaction

from ml.models import ModelVersion


@transaction.atomic
def activate_model_version(*, model_version: ModelVersion) -> ModelVersion:
    """Make this the one active version (the others are deactivated in the same transaction)."""
    ModelVersion.objects.select_for_update().filter(is_active=True).exclude(pk=model_version.pk).update(is_active=False)
    model_version.is_active = True
    model_version.save(update_fields=["is_active"])
    return model_version
