"""gunicorn settings for production: `gunicorn -c cityvibes_site/gunicorn.conf.py cityvibes_site.wsgi`.

Read from the environment (scripts/serve runs collectstatic and migrate first, then this):
- HOST (0.0.0.0) and PORT (8000): where to listen.
- WEB_CONCURRENCY: worker processes (default: one per CPU; each loads its own TensorFlow model
  for /identify/, so mind the memory). GUNICORN_THREADS: threads per worker (default 4).
- GUNICORN_TIMEOUT: seconds before a stuck request's worker is restarted (default 60).
- GUNICORN_CONTROL_SOCKET: a path to enable gunicornc's control socket (off by default).
- FORWARDED_ALLOW_IPS: proxies trusted to say the client used HTTPS with X-Forwarded-Proto
  (gunicorn's own variable; default 127.0.0.1,::1). Set it to your load balancer's address.
"""

import multiprocessing
import os
import sys
from pathlib import Path

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# Threads: requests mostly wait on the database, storage or TensorFlow (which releases the GIL).
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so slow leaks (TensorFlow, image buffers) cannot grow for ever.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicornc's control socket: off unless given a path (the shared default path clashes when two
# servers run on one machine).
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"  # heartbeat files off a possibly slow disk (containers)


def on_starting(server) -> None:
    """Refuse to start with a one-line reason (not a traceback per worker) when settings are incomplete."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityvibes_site.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.SECRET_KEY  # noqa: B018  (importing the settings is the check)
    except ImproperlyConfigured as error:
        sys.exit(f"ImproperlyConfigured: {error}")
