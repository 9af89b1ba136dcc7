"""The embedded default (a SQLite file) serves a handful of people swiping at once, without a 503.

A real server (runserver as `scripts/run` starts it, and gunicorn with several worker processes)
on a SQLite file, driven by real browsers' requests from threads that start at the same moment.
Judged by what the swipers get back and by `recompute_scores --check` on the same database.
"""

import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.factories import image_bytes

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
USERS, SWIPES_EACH, TAB_PAIRS = 4, 20, 10


def sqlite_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The defaults of a local run, on a throwaway SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CACHE_URL"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        CITYVIBES_PHOTO_ORDER="queue",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Path:
    """A SQLite file with 30 photos in 3 cities, imported the way staff would."""
    tmp_path = tmp_path_factory.mktemp("sqlite-concurrency")
    for city in ("Denver", "Miami", "Boston"):
        (tmp_path / "photos" / city).mkdir(parents=True)
        for i in range(10):
            (tmp_path / "photos" / city / f"{i}.jpg").write_bytes(image_bytes())
    env = sqlite_env(tmp_path)
    for args in (["migrate", "--noinput"], ["import_photos", str(tmp_path / "photos"), "--no-progress"]):
        result = manage(env, *args)
        assert result.returncode == 0, result.stdout + result.stderr
    return tmp_path


SERVERS = {
    "runserver": lambda port: [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
    "gunicorn": lambda port: [str(BIN / "gunicorn"), "-c", "cityvibes_site/gunicorn.conf.py", "cityvibes_site.wsgi"],
}


@pytest.fixture(params=list(SERVERS))
def server(request, database, tmp_path):
    """runserver (threaded) or gunicorn with 4 worker processes, on a copy of the database."""
    (tmp_path / "db.sqlite3").write_bytes((database / "db.sqlite3").read_bytes())
    (tmp_path / "media").symlink_to(database / "media")
    port = free_port()
    env = sqlite_env(tmp_path, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="4")
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        SERVERS[request.param](port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base, process, tmp_path / "server.log")
        yield base, env
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def wait_until_answering(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}: {log.read_text()}")
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer within 60 s: {log.read_text()}")
            time.sleep(0.2)


class Browser:
    """A browser's cookies and CSRF token; `another_tab()` shares them."""

    def __init__(self, base: str, jar: http.cookiejar.CookieJar | None = None):
        self.base = base
        self.jar = jar or http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        if jar is None:
            self.opener.open(f"{base}/", timeout=30).close()  # the swipe page sets the csrftoken cookie

    def another_tab(self) -> "Browser":
        return Browser(self.base, self.jar)

    def swipe(self, photo: int, liked: bool) -> int:
        token = next(c.value for c in self.jar if c.name == "csrftoken")
        request = urllib.request.Request(
            f"{self.base}/api/swipes",
            data=json.dumps({"photo": photo, "liked": liked}).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": token},
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def photo_ids(self) -> list[int]:
        with self.opener.open(f"{self.base}/api/photos/next?n=50", timeout=30) as response:
            return [photo["id"] for photo in json.load(response)["photos"]]


def all_at_once(jobs) -> list:
    """Run every job in its own thread, all released at the same moment; their results in job order."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(i, job):
        barrier.wait()
        results[i] = job()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_four_people_swiping_at_once_all_get_their_swipes_recorded(server):
    base, env = server
    people = [Browser(base) for _ in range(USERS)]
    photos = people[0].photo_ids()[:SWIPES_EACH]

    def swipe_all(person: Browser, n: int):
        return lambda: [person.swipe(photo, liked=(i + n) % 3 != 0) for i, photo in enumerate(photos)]

    answers = all_at_once([swipe_all(person, n) for n, person in enumerate(people)])

    assert answers == [[201] * SWIPES_EACH] * USERS
    check = manage(env, "recompute_scores", "--check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_two_tabs_liking_and_noping_one_photo_at_once_get_201_and_409(server):
    base, env = server
    first_tab = Browser(base)
    photos = first_tab.photo_ids()
    assert first_tab.swipe(photos[-1], liked=True) == 201  # the browser's session and swiper exist now
    other_tab = first_tab.another_tab()

    pairs = [
        all_at_once([lambda p=photo: first_tab.swipe(p, liked=True), lambda p=photo: other_tab.swipe(p, liked=False)])
        for photo in photos[:TAB_PAIRS]
    ]

    assert [sorted(pair) for pair in pairs] == [[201, 409]] * TAB_PAIRS
    check = manage(env, "recompute_scores", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
