"""PostgreSQL restarts while swipers swipe: 503s during the outage, then business as usual, and the
swipe log holds every acknowledged swipe exactly once.

The app runs as in production: real gunicorn (2 workers x 4 threads, persistent database connections)
against a throwaway PostgreSQL cluster (tests/pg_cluster.py), never the shared server. Client threads
behave like swipe.js: each has its own session and CSRF token, fetches the next photo, swipes it, and
retries the same swipe after a 503 until it is acknowledged (a retry of a swipe that was in fact
recorded answers 200, "recorded": false).
"""

import json
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from math import nan
from pathlib import Path

import pytest
import requests

from tests.pg_cluster import free_port, throwaway_cluster, unavailable_reason

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 4
WARM_UP_SECONDS = 1.5
DOWN_SECONDS = 1.0
AFTER_SECONDS = 3.0
RECOVERY_GRACE_SECONDS = 0.5  # requests started this long after the server is back must all succeed

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

SEED = """
import django
django.setup()
from tests.factories import make_demo_collection
print(sum(len(photos) for photos in make_demo_collection(cities=4, per_city=25).values()))
"""

# Reads each client's swipes from the database, found through its session cookie.
SWIPES_BY_SESSION = """
import json, sys
import django
django.setup()
from django.contrib.sessions.backends.db import SessionStore
from swipes.models import Swipe, UserSwipeData
from swipes.sessions import SESSION_KEY

found = {}
for client, session_key in json.load(sys.stdin).items():
    swiper = UserSwipeData.objects.get(anon_token=SessionStore(session_key=session_key)[SESSION_KEY])
    rows = Swipe.objects.filter(user_data=swiper).order_by("id")
    found[client] = {
        "swipe_count": swiper.swipe_count,
        "live": [[s.photo_id, s.liked] for s in rows if s.retracted_at is None],
        "all_rows": rows.count(),
    }
found["swipers_with_swipes"] = UserSwipeData.objects.filter(swipes__isnull=False).distinct().count()
print(json.dumps(found))
"""


@dataclass
class Exchange:
    started: float
    ended: float
    method: str
    path: str
    status: int | None  # None: no HTTP response at all (refused, reset, timeout)
    content_type: str = ""
    retry_after: str | None = None
    body: str = ""


@dataclass
class SwipingClient:
    number: int
    base: str
    stop: threading.Event
    exchanges: list[Exchange] = field(default_factory=list)
    acknowledged: list[tuple[int, bool]] = field(default_factory=list)
    gave_up: list[tuple[int, bool]] = field(default_factory=list)

    def __post_init__(self):
        self.http = requests.Session()
        self.rng = random.Random(self.number)

    def call(self, method: str, path: str, **kwargs) -> requests.Response | None:
        started = time.monotonic()
        try:
            response = self.http.request(method, self.base + path, timeout=15, **kwargs)
        except requests.RequestException as error:
            self.exchanges.append(Exchange(started, time.monotonic(), method, path, None, body=repr(error)))
            return None
        self.exchanges.append(
            Exchange(
                started,
                time.monotonic(),
                method,
                path,
                response.status_code,
                response.headers.get("Content-Type", ""),
                response.headers.get("Retry-After"),
                response.text[:300],
            )
        )
        return response

    def swipe_until_acknowledged(self, photo: int, liked: bool, headers: dict) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            response = self.call("POST", "/api/swipes", json={"photo": photo, "liked": liked}, headers=headers)
            if response is not None and response.status_code in (200, 201):
                self.acknowledged.append((photo, liked))
                return
            if response is not None and response.status_code != 503:
                break  # unexpected: the assertions on the exchanges report it
            time.sleep(0.1)
        self.gave_up.append((photo, liked))

    def run(self) -> None:
        self.call("GET", "/")
        headers = {"X-CSRFToken": self.http.cookies.get("csrftoken", "")}
        rounds = 0
        while not self.stop.is_set():
            rounds += 1
            if rounds % 5 == 0:
                self.call("GET", "/")  # the swipe page: 200, or the 503 page during the outage
            response = self.call("GET", "/api/photos/next?n=1")
            if response is None or response.status_code != 200:
                time.sleep(0.1)
                continue
            photos = response.json()["photos"]
            if photos:
                self.swipe_until_acknowledged(photos[0]["id"], self.rng.random() < 0.6, headers)
            else:
                self.call("GET", "/api/results")  # seen everything: keep reading
            time.sleep(0.02)


def run_checked(args: list[str], env: dict, *, stdin: str | None = None, timeout: float = 120) -> str:
    result = subprocess.run(args, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args[:3])} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def wait_until_serving(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"gunicorn exited:\n{log.read_text()[-3000:]}"
        try:
            if requests.get(base + "/api/results", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within 60 s:\n{log.read_text()[-3000:]}")


def app_env(cluster, tmp_path: Path) -> dict:
    """The environment gunicorn and manage.py run with: this cluster, no other services."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cityvibes_site.settings",
        DATABASE_URL=cluster.url("cityvibes_fault"),
        DJANGO_DEBUG="1",  # tracebacks would show in responses: the test looks for them
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        CITYVIBES_RATE_SWIPES="100000/min",
        PYTHONPATH=str(ROOT),
    )
    return env


def start_gunicorn(env: dict, tmp_path: Path) -> tuple[str, subprocess.Popen, Path]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "cityvibes_site.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--worker-class", "gthread", "--threads", "4",
             "--timeout", "30", "--graceful-timeout", "5"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return f"http://127.0.0.1:{port}", server, log


def swipe_through_a_restart(cluster, base: str) -> tuple[list[SwipingClient], float, float]:
    """Clients swipe, PostgreSQL stops for DOWN_SECONDS and starts again, clients swipe on.
    Returns the clients and the monotonic times the stop began and the server was back."""
    load_started = time.monotonic()
    stop = threading.Event()
    clients = [SwipingClient(n, base, stop) for n in range(CLIENTS)]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(c.acknowledged for c in clients):
        time.sleep(0.05)
    assert all(c.acknowledged for c in clients), "every client swipes before the restart"
    time.sleep(max(0.0, WARM_UP_SECONDS - (time.monotonic() - load_started)))

    went_down = time.monotonic()
    cluster.stop("fast")  # open sessions are terminated, new ones refused
    time.sleep(DOWN_SECONDS)
    cluster.start()
    back_up = time.monotonic()

    time.sleep(AFTER_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a client is stuck"
    return clients, went_down, back_up


def assert_only_successes_and_503s(exchanges: list[Exchange], server_log: str) -> list[Exchange]:
    """Never a 500, a traceback or a dropped connection. Returns the 503s."""
    failed = [e for e in exchanges if e.status not in (200, 201)]
    unavailable = [e for e in exchanges if e.status == 503]
    assert [e for e in failed if e.status is None] == [], "connections refused or reset"
    assert [(e.method, e.path, e.status, e.body) for e in failed if e.status != 503] == []
    assert unavailable, "the restart was seen by the clients"
    for e in unavailable:
        assert e.retry_after == "5", e
        if e.path.startswith("/api/"):
            assert e.content_type.startswith("application/json"), e
            assert json.loads(e.body)["error"] == "database unavailable", e
        else:
            assert e.content_type.startswith("text/html") and "Back in a moment" in e.body, e
    assert "Traceback" not in server_log and "Internal Server Error" not in server_log, server_log[-3000:]
    return unavailable


def describe(clients: list[SwipingClient], found: dict, went_down: float, back_up: float) -> str:
    exchanges = [e for c in clients for e in c.exchanges]
    failed = [e for e in exchanges if e.status not in (200, 201)]
    unavailable = [e for e in exchanges if e.status == 503]
    return (
        f"{len(exchanges)} requests ({CLIENTS} clients); "
        f"database down for {back_up - went_down:.2f} s (stop -m fast, {DOWN_SECONDS} s, start); "
        f"503s: {len(unavailable)}, first {min((e.started for e in unavailable), default=nan) - went_down:+.2f} s, "
        f"last {max((e.ended for e in unavailable), default=nan) - went_down:+.2f} s after the stop began; "
        f"other failures: {len(failed) - len(unavailable)}; "
        f"acknowledged swipes {sum(len(c.acknowledged) for c in clients)}, "
        f"live swipes logged {sum(len(found[str(c.number)]['live']) for c in clients)};"
    )


def test_it_answers_503_while_postgres_restarts_and_keeps_every_acknowledged_swipe_once(tmp_path):
    began = time.monotonic()
    with throwaway_cluster() as cluster:
        cluster.create_database("cityvibes_fault")
        env = app_env(cluster, tmp_path)
        run_checked([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env)
        photo_count = int(run_checked([sys.executable, "-c", SEED], env))

        base, server, log = start_gunicorn(env, tmp_path)
        try:
            wait_until_serving(base, server, log)
            load_started = time.monotonic()
            setup_seconds = load_started - began
            clients, went_down, back_up = swipe_through_a_restart(cluster, base)
        finally:
            server.terminate()
            server.wait(timeout=30)
        server_log = log.read_text()

        found = json.loads(
            run_checked(
                [sys.executable, "-c", SWIPES_BY_SESSION],
                env,
                stdin=json.dumps({str(c.number): c.http.cookies["sessionid"] for c in clients}),
            )
        )
        drift_check = subprocess.run(
            [sys.executable, "manage.py", "recompute_scores", "--check"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    exchanges = [e for c in clients for e in c.exchanges]
    print(f"\nsetup {setup_seconds:.1f} s (initdb, migrate, photos, gunicorn); {photo_count} photos; ", end="")
    print(describe(clients, found, went_down, back_up), drift_check.stdout.strip())
    unavailable = assert_only_successes_and_503s(exchanges, server_log)

    # Once the server is back, everything succeeds at once (dead pooled connections are replaced).
    after = [e for e in exchanges if e.started > back_up + RECOVERY_GRACE_SECONDS]
    assert len(after) > 20
    assert [(e.method, e.path, e.status) for e in after if e.status not in (200, 201)] == []
    assert [e for e in unavailable if e.started > back_up + RECOVERY_GRACE_SECONDS] == []

    # The swipe log: every acknowledged swipe exactly once, nothing else, scores equal to its replay.
    assert [c.gave_up for c in clients] == [[] for _ in clients]
    for c in clients:
        mine = found[str(c.number)]
        assert len({photo for photo, _ in c.acknowledged}) == len(c.acknowledged), "a photo served twice"
        assert sorted(map(tuple, mine["live"])) == sorted(c.acknowledged), f"client {c.number}"
        assert mine["all_rows"] == len(c.acknowledged) == mine["swipe_count"]
    assert found["swipers_with_swipes"] == CLIENTS
    assert drift_check.returncode == 0, drift_check.stdout + drift_check.stderr
    assert f"Checked {CLIENTS} swipers: 0 drifted" in drift_check.stdout
