"""Every Celery run leaves its state and result in the database (django-celery-results), shown in the admin."""

import json
import os

import pytest
from django_celery_results.models import TaskResult

from ml.models import ModelVersion
from ml.tasks import predict_photos_task, train_model_task
from photos.models import Photo
from tests.factories import make_demo_collection, make_photo, make_tiny_model
from tests.workers import thread_worker

REDIS_URL = os.environ.get("CITYVIBES_TEST_TASKS_REDIS_URL", "redis://127.0.0.1:6379/11")


def assert_listed_in_the_admin(client, row: TaskResult) -> None:
    page = client.get("/admin/django_celery_results/taskresult/").content.decode()
    assert row.task_id in page and "ml.predict_photos" in page and "SUCCESS" in page
    detail = client.get(f"/admin/django_celery_results/taskresult/{row.pk}/change/").content.decode()
    assert "&quot;predicted&quot;: 7" in detail or '"predicted": 7' in detail


@pytest.mark.django_db
def test_it_records_an_eager_predict_run_with_its_result(admin_client):
    version = make_tiny_model()
    make_photo(None)
    async_result = predict_photos_task.delay(model_version_id=version.pk)
    expected = {"model_version": version.name, "todo": 7, "predicted": 7, "unreadable": 0}
    assert async_result.get() == expected

    row = TaskResult.objects.get(task_id=async_result.id)
    assert (row.status, row.task_name) == ("SUCCESS", "ml.predict_photos")
    assert row.date_done is not None and str(version.pk) in row.task_kwargs
    assert json.loads(row.result) == expected
    assert_listed_in_the_admin(admin_client, row)


@pytest.mark.django_db
def test_it_trains_through_the_task_and_records_the_new_version():
    make_demo_collection(cities=2, per_city=3)
    result = train_model_task.delay(epochs=3, augment_views=0, min_photos_per_city=3, name="from-a-task").get()
    version = ModelVersion.objects.get(name="from-a-task")
    assert result["model_version"] == "from-a-task" and result["activated"] is True and version.is_active
    assert TaskResult.objects.get(task_name="ml.train_model").status == "SUCCESS"


@pytest.mark.django_db
def test_it_refuses_unknown_training_options_in_one_line():
    from ml.services import TrainingError

    with pytest.raises(TrainingError, match="^unknown training option\\(s\\): epoch$"):
        train_model_task.delay(epoch=3).get()


@pytest.fixture
def redis_worker():
    """A real worker on a Redis broker, with the project's Celery settings (results: django-db)."""
    with thread_worker(broker_url=REDIS_URL, name="cityvibes-results-test") as app:
        yield app


@pytest.mark.django_db(transaction=True)
def test_it_records_a_predict_run_done_by_a_worker(redis_worker, admin_client):
    from django_celery_results.backends import DatabaseBackend

    version = make_tiny_model()
    make_photo(None)
    async_result = predict_photos_task.delay(model_version_id=version.pk)
    assert isinstance(async_result.backend, DatabaseBackend)  # queued to the worker, results in the database
    assert async_result.get(timeout=120) == {"model_version": version.name, "todo": 7, "predicted": 7, "unreadable": 0}
    row = TaskResult.objects.get(task_id=async_result.id)
    assert row.status == "SUCCESS" and row.worker  # the worker's name: it really ran there
    assert Photo.objects.filter(model_version=version).count() == 7
    assert_listed_in_the_admin(admin_client, row)


@pytest.mark.django_db
def test_it_stores_each_stages_progress_with_its_extra_fields_while_the_task_runs():
    from celery import shared_task

    from cityvibes_site.celery import TaskProgress

    seen = []

    @shared_task(bind=True, name="tests.progress_probe")
    def probe(self):
        def stored() -> dict:
            return json.loads(TaskResult.objects.get(task_id=self.request.id).result)

        advance = TaskProgress(self, min_interval=0).stage("cities", 2, imported=0)
        seen.append(stored())
        advance(1, imported=3, city="Denver")
        seen.append(stored())
        return "done"

    assert probe.apply().get() == "done"
    assert seen == [
        {"stage": "cities", "done": 0, "total": 2, "imported": 0},
        {"stage": "cities", "done": 1, "total": 2, "imported": 3, "city": "Denver"},
    ]
