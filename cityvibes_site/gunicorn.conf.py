"""gunicorn settings for production: `gunicorn -c cityvibes_site/gunicorn.conf.py cityvibes_site.wsgi`.

Read from the environment (scripts/serve runs collectstatic and migrate first, then this):
- HOST (0.0.0.0) and PORT (8000): where to listen.
- WEB_CONCURRENCY: worker processes (default 2 x CPUs; each loads its own TensorFlow model on the
  first /identify/, so mind the memory). With one PostgreSQL backend per worker on the same cores,
  more workers than that only queue.
- GUNICORN_WORKER_CLASS: "sync" (default) or "gthread" with GUNICORN_THREADS threads per worker.
  Run sync workers behind a buffering proxy (nginx, a load balancer).
- GUNICORN_TIMEOUT: seconds before a stuck request's worker is restarted (default 60).
- GUNICORN_CONTROL_SOCKET: a path to enable gunicornc's control socket (off by default).
- FORWARDED_ALLOW_IPS: proxies trusted to say the client used HTTPS with X-Forwarded-Proto
  (gunicorn's own variable; default 127.0.0.1,::1). Set it to your load balancer's address.
"""

import multiprocessing
import os
from pathlib import Path

# One BLAS thread per worker: the smart photo order's matrix products are small, and idle BLAS
# threads spinning after each one cost more than the product itself.
for _blas in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_blas, "1")

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count())
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "4" if worker_class == "gthread" else "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so slow leaks (TensorFlow, image buffers) cannot grow for ever; not
# too often: a restart costs about a second of start-up and a rebuild of the photo matrix (done
# before the new worker takes requests: post_worker_init below).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
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
    from cityvibes_site.celery import exit_unless_configured

    exit_unless_configured()


def post_worker_init(worker) -> None:
    """Build the collection's model before this worker accepts its first request (otherwise the first swipe
    after a deploy or recycle waits for it: about 1.5 s for 5,000 photos x 256 cities). With the
    database away the worker starts anyway; the first request that needs the matrix builds it."""
    from django.db import connections

    from swipes.collection import warm_up

    try:
        worker.log.info("worker %s: %s", worker.pid, warm_up())
    except Exception as error:  # noqa: BLE001 (any failure: log one line, serve anyway)
        reason = (str(error).splitlines() or [""])[0]
        worker.log.warning("worker %s: warm-up skipped (%s: %s)", worker.pid, type(error).__name__, reason)
        connections.close_all()
