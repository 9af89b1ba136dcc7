"""Celery tasks of the ml app: thin wrappers around services that report their progress."""

from dataclasses import fields

from celery import shared_task

from cityvibes_site.celery import TaskProgress
from ml.models import ModelVersion
from ml.services import TrainingError, TrainingOptions, predict_photos, train_model_version


@shared_task(name="ml.predict_photos", bind=True)
def predict_photos_task(
    self, model_version_id: int | None = None, redo_all: bool = False, batch_size: int = 64, chunk_size: int = 512
) -> dict:
    """Celery wrapper around ml.services.predict_photos; returns a JSON-able summary.

    Results are committed every `chunk_size` photos: a worker killed mid-run leaves whole chunks,
    and the redelivered task (acks_late) continues where the last commit ended.
    """
    version = ModelVersion.objects.get(pk=model_version_id) if model_version_id else None
    report = predict_photos(
        model_version=version,
        redo_all=redo_all,
        batch_size=batch_size,
        chunk_size=chunk_size,
        progress=TaskProgress(self).stage,
    )
    return {
        "model_version": report.model_version,
        "todo": report.todo,
        "predicted": report.predicted,
        "unreadable": len(report.unreadable),
    }


@shared_task(name="ml.train_model", bind=True)
def train_model_task(self, **options) -> dict:
    """Celery wrapper around ml.services.train_model_version; `options` are TrainingOptions fields."""
    unknown = sorted(set(options) - {f.name for f in fields(TrainingOptions)})
    if unknown:
        raise TrainingError(f"unknown training option(s): {', '.join(unknown)}")
    outcome = train_model_version(options=TrainingOptions(**options), progress=TaskProgress(self).stage)
    return {
        "model_version": outcome.version.name,
        "activated": outcome.activated,
        "activation_reason": outcome.activation_reason,
        "val_accuracy": outcome.version.metrics.get("val", {}).get("accuracy"),
        "test_accuracy": outcome.version.metrics.get("test", {}).get("accuracy"),
        "unreadable": len(outcome.unreadable),
        "skipped_cities": outcome.skipped_cities,
    }
