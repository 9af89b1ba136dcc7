import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityvibes_site.settings")
application = get_wsgi_application()


def freeze_startup_objects() -> str:
    """Keep what a worker loaded at start-up out of Python's cyclic garbage collector; a line for the log.

    The modules, models, URL patterns and views a worker loads (about 160,000 tracked objects) live
    as long as the process, yet every full collection walks them all: 85-120 ms during which the
    request in hand, and the ones queued behind it, wait (bench/gc_pauses.py). gunicorn calls this
    in each worker before its first request (cityvibes_site/gunicorn.conf.py), after loading every
    view (Django would import them on the first request); a full collection then walks only what
    requests created since.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view module: DRF, drf-spectacular, the apps')
    gc.collect()
    gc.freeze()
    return f"{gc.get_freeze_count()} start-up objects frozen out of the cyclic garbage collector"
