"""A Celery worker killed (SIGKILL) in the middle of predict_photos leaves no half-written photo, and
the task, redelivered to a new worker (acks_late + the broker's visibility timeout), finishes the job.

Real worker processes (`celery -A cityvibes_site worker --pool solo`) on a Redis broker, sharing the
test's PostgreSQL database; so this needs PostgreSQL (SQLite's test database lives in this process).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import redis
from django.db import connection
from django_celery_results.models import TaskResult

from ml.models import PhotoEmbedding
from ml.services import TrainingOptions, predict_photos, train_model_version
from photos.models import Photo
from photos.services import PhotoCredit, ingest_photo
from tests.factories import image_bytes, make_demo_collection

REDIS_URL = os.environ.get("CITYVIBES_TEST_TASKS_REDIS_URL", "redis://127.0.0.1:6379/11")
ROOT = Path(__file__).resolve().parent.parent
CELERY = Path(sys.executable).parent / "celery"
VISIBILITY_TIMEOUT = 3  # seconds: how long an unacknowledged task waits before another worker may take it
CHUNK = 8  # photos per committed chunk

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres(reason="worker processes must share the test database"),
]


@pytest.fixture
def broker():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"needs Redis at {REDIS_URL}")
    client.flushdb()
    # This process only sends: a Celery app with the project's settings and the Redis broker, made current
    # so the project's shared tasks are queued through it instead of running eagerly here.
    from celery import Celery

    from cityvibes_site.celery import app as project_app

    app = Celery("cityvibes-sender", set_as_current=True)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=REDIS_URL, task_always_eager=False)
    try:
        yield app
    finally:
        project_app.set_current()
        client.flushdb()


@pytest.fixture
def workers(broker, settings, tmp_path):
    """start() runs a worker process on the test database and waits until it consumes; kill() SIGKILLs it."""
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        DJANGO_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="worker-test-" + "x" * 50,
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
    )
    running: list[subprocess.Popen] = []

    def start(name: str) -> subprocess.Popen:
        log_path = tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [str(CELERY), "-A", "cityvibes_site", "worker", "--pool", "solo", "-n", f"{name}@%h", "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        running.append(process)
        deadline = time.monotonic() + 60
        while " ready." not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"worker not ready in 60 s: {log_path.read_text()}"
            time.sleep(0.1)
        process.log_path = log_path
        return process

    def kill(process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    yield start, kill
    for process in running:  # the test is over: nothing left to finish (the broker's db is flushed next)
        if process.poll() is None:
            kill(process)


def assert_whole_or_untouched(photos, version) -> int:
    """Every photo has a complete vector of this version, or none at all; returns how many are predicted."""
    predicted = 0
    for photo in photos:
        if photo.probabilities is None:
            assert photo.model_version_id is None, f"photo {photo.pk}: a version without a vector"
            continue
        assert photo.model_version_id == version.pk, f"photo {photo.pk}: a vector without its version"
        assert len(photo.probabilities) == len(version.cities)
        assert sum(photo.probabilities) == pytest.approx(1.0, abs=1e-4)
        predicted += 1
    return predicted


def test_it_leaves_no_half_written_photo_and_finishes_after_the_worker_is_killed(workers):
    from ml.tasks import predict_photos_task

    start, kill = workers
    make_demo_collection(cities=2, per_city=3)
    version = train_model_version(
        options=TrainingOptions(epochs=5, augment_views=0, min_photos_per_city=3, activate=True)
    ).version
    for seed in range(1000, 1090):  # unlabelled photos: only prediction gives them a vector
        ingest_photo(data=image_bytes(seed=seed), city=None, credit=PhotoCredit(source="test"))
    PhotoEmbedding.objects.all().delete()  # every photo goes through decode -> backbone -> head
    total = Photo.objects.count()

    first = start("first")
    task_id = predict_photos_task.apply_async(
        kwargs={"model_version_id": version.pk, "batch_size": 4, "chunk_size": CHUNK}
    ).id

    # Kill the worker once it has committed some chunks and reported progress, well before the end.
    deadline = time.monotonic() + 90
    while True:
        done = Photo.objects.filter(model_version=version).count()
        if done >= 2 * CHUNK:
            break
        assert done < total and time.monotonic() < deadline, f"{done}/{total}: {first.log_path.read_text()}"
        time.sleep(0.02)
    kill(first)
    progress = TaskResult.objects.get(task_id=task_id)
    assert progress.status == "PROGRESS", progress.status
    assert '"stage": "predicting"' in progress.result and f'"total": {total}' in progress.result

    after_kill = assert_whole_or_untouched(Photo.objects.all(), version)
    assert 2 * CHUNK <= after_kill < total, "the worker should die mid-run"

    # The unacknowledged task goes back to the queue after the visibility timeout; a new worker takes it.
    second = start("second")
    deadline = time.monotonic() + 120
    while TaskResult.objects.get(task_id=task_id).status != "SUCCESS":
        assert second.poll() is None and time.monotonic() < deadline, second.log_path.read_text()
        time.sleep(0.2)
    result = TaskResult.objects.get(task_id=task_id)
    assert '"predicted": ' in result.result and f'"todo": {total - after_kill}' in result.result  # only the rest

    photos = list(Photo.objects.order_by("pk"))
    assert assert_whole_or_untouched(photos, version) == total

    # Same vectors as one clean run in this process gives.
    resumed = np.array([p.probabilities for p in photos])
    predict_photos(model_version=version, redo_all=True)
    clean = np.array(list(Photo.objects.order_by("pk").values_list("probabilities", flat=True)))
    assert np.abs(resumed - clean).max() < 1e-4
