"""Settings of the gunicorn that bench/swipe_load.py starts: production settings plus the bare view."""

from cityvibes_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.server_urls"
