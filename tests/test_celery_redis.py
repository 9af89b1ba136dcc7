"""The predict task through a real Redis broker and a real Celery worker (thread), as in production."""

import os

import pytest
import redis

from ml.models import ModelVersion
from ml.services import TrainingOptions, train_model_version
from photos.models import Photo
from tests.factories import make_demo_collection

REDIS_URL = os.environ.get("CITYVIBES_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_celery(settings):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip(f"needs Redis at {REDIS_URL}")
    from celery import Celery
    from celery.contrib.testing.worker import start_worker

    from cityvibes_site.celery import app as project_app

    # A Celery app configured like production (Redis broker and results), made current so the
    # project's shared tasks are sent through it.
    app = Celery("cityvibes-redis-test", broker=REDIS_URL, backend=REDIS_URL, set_as_current=True)
    app.conf.update(task_always_eager=False, broker_connection_retry_on_startup=False)
    import ml.tasks  # noqa: F401  (registers the shared task on the current app)

    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield app
    finally:
        project_app.set_current()
        redis.Redis.from_url(REDIS_URL).flushdb()


def test_it_predicts_photos_through_redis_and_a_worker(redis_celery):
    from ml.tasks import predict_photos_task

    make_demo_collection(cities=2, per_city=3)
    version = train_model_version(
        options=TrainingOptions(epochs=5, augment_views=0, min_photos_per_city=3, activate=True)
    ).version
    from celery.backends.redis import RedisBackend

    async_result = predict_photos_task.delay(model_version_id=version.pk)
    assert isinstance(async_result.backend, RedisBackend)  # really queued, not run eagerly
    result = async_result.get(timeout=120)
    assert result == {"model_version": version.name, "todo": 6, "predicted": 6, "unreadable": 0}
    assert Photo.objects.filter(model_version=version, probabilities__isnull=False).count() == 6
    assert ModelVersion.objects.get(pk=version.pk).is_active
