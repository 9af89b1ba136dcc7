"""The Celery app. With no CELERY_BROKER_URL set, tasks run eagerly (see settings).

Task state, progress and results are stored by django-celery-results: the admin lists every run
under "Celery Results" (state PROGRESS with {"stage", "done", "total"} while it runs).
"""

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityvibes_site.settings")


def exit_unless_configured() -> None:
    """For the celery and gunicorn commands: stop with a one-line reason (e.g. no DJANGO_SECRET_KEY),
    not a traceback per process. manage.py does the same around every command."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.SECRET_KEY  # noqa: B018  (loading the settings is the check)
    except ImproperlyConfigured as error:
        sys.exit(f"ImproperlyConfigured: {error}")


if Path(sys.argv[0]).name == "celery":
    exit_unless_configured()

app = Celery("cityvibes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class TaskProgress:
    """Reports a bound task's progress as state PROGRESS, meta {"stage", "done", "total", ...}.

    Updates are throttled to one per `min_interval` seconds (each is a database write); the start
    and the end of every stage are always reported. `stage` matches the services' progress
    factories: `progress = TaskProgress(self).stage; predict_photos(..., progress=progress)`.
    """

    def __init__(self, task: Task, *, min_interval: float = 1.0):
        self.task = task
        self.min_interval = min_interval
        self._last = float("-inf")

    def stage(self, stage: str, total: int, **extra: object) -> Callable[..., None]:
        """Reports the start of a stage; returns advance(n, **extra) to call as work gets done."""
        done = 0
        self.report(stage=stage, done=0, total=total, force=True, **extra)

        def advance(n: int, **extra: object) -> None:
            nonlocal done
            done += n
            self.report(stage=stage, done=done, total=total, force=done >= total, **extra)

        return advance

    def report(self, *, stage: str, done: int, total: int, force: bool = False, **extra: object) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        if self.task.request.id is None:  # called as a plain function, not as a task
            return
        self._last = now
        self.task.update_state(state="PROGRESS", meta={"stage": stage, "done": done, "total": total, **extra})
