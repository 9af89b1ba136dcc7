"""A real Celery worker (in a thread) on the Redis at 127.0.0.1:6379, configured like production."""

from contextlib import contextmanager

import pytest
import redis


@contextmanager
def thread_worker(*, broker_url: str, name: str, result_backend: str | None = None):
    """The project's Celery settings, but tasks go through `broker_url` to a worker thread.

    Skips the test when that Redis is not reachable; empties its Redis database afterwards.
    """
    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip(f"needs Redis at {broker_url}")
    from celery import Celery
    from celery.contrib.testing.worker import start_worker

    from cityvibes_site.celery import app as project_app

    app = Celery(name, set_as_current=True)  # current, so the project's shared tasks are sent through it
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=broker_url, task_always_eager=False, broker_connection_retry_on_startup=False)
    if result_backend:
        app.conf.result_backend = result_backend
    import ml.tasks  # noqa: F401  (registers the shared tasks on the current app)

    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield app
    finally:
        project_app.set_current()
        redis.Redis.from_url(broker_url).flushdb()
