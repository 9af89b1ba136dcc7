"""The predict task through a real Redis broker and a real Celery worker (thread), as in production."""

import os

import pytest

from ml.models import ModelVersion
from photos.models import Photo
from tests.factories import make_tiny_model
from tests.workers import thread_worker

REDIS_URL = os.environ.get("CITYVIBES_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_celery():
    """Redis as broker and result backend, as in a production set-up without django-celery-results."""
    with thread_worker(broker_url=REDIS_URL, result_backend=REDIS_URL, name="cityvibes-redis-test") as app:
        yield app


def test_it_predicts_photos_through_redis_and_a_worker(redis_celery):
    from ml.tasks import predict_photos_task

    version = make_tiny_model()
    from celery.backends.redis import RedisBackend

    async_result = predict_photos_task.delay(model_version_id=version.pk)
    assert isinstance(async_result.backend, RedisBackend)  # really queued, not run eagerly
    result = async_result.get(timeout=120)
    assert result == {"model_version": version.name, "todo": 6, "predicted": 6, "unreadable": 0}
    assert Photo.objects.filter(model_version=version, probabilities__isnull=False).count() == 6
    assert ModelVersion.objects.get(pk=version.pk).is_active
