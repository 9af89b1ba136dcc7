"""The Celery app. With no CELERY_BROKER_URL set, tasks run eagerly (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityvibes_site.settings")

app = Celery("cityvibes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
