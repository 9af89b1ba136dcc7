from celery import shared_task

from ml.models import ModelVersion
from ml.services import predict_photos


@shared_task(name="ml.predict_photos")
def predict_photos_task(model_version_id: int | None = None, redo_all: bool = False) -> dict:
    """Celery wrapper around ml.services.predict_photos; returns a JSON-able summary."""
    version = ModelVersion.objects.get(pk=model_version_id) if model_version_id else None
    report = predict_photos(model_version=version, redo_all=redo_all)
    return {
        "model_version": report.model_version,
        "todo": report.todo,
        "predicted": report.predicted,
        "unreadable": len(report.unreadable),
    }
