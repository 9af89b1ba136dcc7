"""Production settings pass Django's deploy checks, and scripts/serve runs gunicorn + WhiteNoise for real."""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment a production deploy sets, with a throwaway SQLite database and folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


SHARED_CACHE = "redis://127.0.0.1:6379/1"  # docs/deploy.md's CACHE_URL (the check does not connect to it)


def test_it_passes_the_deploy_checks_with_production_settings(tmp_path):
    result = manage(production_env(tmp_path, CACHE_URL=SHARED_CACHE), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_it_warns_when_each_worker_would_count_rate_limits_on_its_own(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")  # no CACHE_URL
    assert result.returncode == 1
    assert "cityvibes.W001" in result.stderr and "CACHE_URL" in result.stderr

    rates_off = production_env(
        tmp_path,
        CITYVIBES_RATE_SWIPES="off",
        CITYVIBES_RATE_IDENTIFY="off",
        CITYVIBES_LOGIN_FAILURES_PER_ACCOUNT="0",
        CITYVIBES_LOGIN_FAILURES_PER_ADDRESS="0",
    )
    assert "cityvibes.W001" not in manage(rates_off, "check", "--deploy").stderr


def test_it_warns_when_https_protections_are_switched_off(tmp_path):
    env = production_env(tmp_path, DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_SECURE_HSTS_SECONDS="0")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 1
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def production_answer(env: dict[str, str], path: str = "/healthz", **request) -> dict:
    """Status, headers and body of one request to the app with these settings (Django's test client in
    `manage.py shell`, so the settings module reads the environment as a server would)."""
    request = {"secure": True, "HTTP_HOST": "localhost", **request}
    code = (
        "import json; from django.test import Client; "
        f"r = Client().generic({request.pop('method', 'GET')!r}, {path!r}, **{request!r}); "
        "print(json.dumps({'status': r.status_code, 'headers': dict(r.headers), 'body': r.content.decode()}))"
    )
    result = manage(env, "shell", "-c", code)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "max_age, hsts",
    [("60", "max-age=60; includeSubDomains"), ("31536000", "max-age=31536000; includeSubDomains; preload")],
)
def test_it_asks_for_hsts_preload_only_with_a_max_age_of_a_year(tmp_path, max_age, hsts):
    env = production_env(tmp_path, CACHE_URL=SHARED_CACHE, DJANGO_SECURE_HSTS_SECONDS=max_age)
    assert production_answer(env)["headers"]["Strict-Transport-Security"] == hsts
    check = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert check.returncode == 0, check.stdout + check.stderr


def test_plain_http_to_the_api_is_a_json_400_and_pages_are_redirected(tmp_path):
    env = production_env(tmp_path, CACHE_URL=SHARED_CACHE)
    api = production_answer(env, "/api/swipes", method="POST", secure=False)
    assert api["status"] == 400 and api["headers"]["Content-Type"] == "application/json"
    assert json.loads(api["body"]) == {"error": "HTTPS required: send API requests to https://", "detail": None}
    page = production_answer(env, "/results/", secure=False)
    assert page["status"] == 301 and page["headers"]["Location"] == "https://localhost/results/"


def test_a_bad_host_in_production_is_a_json_400_under_the_api(tmp_path):
    answer = production_answer(production_env(tmp_path), "/api/photos/next", HTTP_HOST="elsewhere.example")
    assert answer["status"] == 400 and json.loads(answer["body"]) == {"error": "bad request", "detail": None}


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "manage.py", "check", "--deploy"],
        [str(BIN / "celery"), "-A", "cityvibes_site", "worker", "--pool", "solo"],
        [str(BIN / "gunicorn"), "-c", "cityvibes_site/gunicorn.conf.py", "cityvibes_site.wsgi"],
    ],
    ids=["manage.py", "celery", "gunicorn"],
)
def test_it_refuses_to_start_without_a_secret_key_in_one_line(tmp_path, command):
    env = production_env(tmp_path, HOST="127.0.0.1", PORT=str(free_port()))
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "[INFO]" not in line]  # gunicorn's "Starting" line
    assert lines == ["ImproperlyConfigured: DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # let the test see the 301 itself


def fetch(url: str, **headers: str):
    """(status, headers, body) of a GET, without following redirects."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def gunicorn(tmp_path):
    """scripts/serve (collectstatic, migrate, gunicorn) on a free loopback port, with DEBUG off."""
    port = free_port()
    env = production_env(tmp_path, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1", GUNICORN_THREADS="2")
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(ROOT / "scripts" / "serve")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"scripts/serve exited with {server.returncode}: {(tmp_path / 'serve.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not listen within 60 s: {(tmp_path / 'serve.log').read_text()}")
                time.sleep(0.2)
        yield base, tmp_path
    finally:
        server.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown: the test's requests are all answered
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_it_serves_pages_and_hashed_static_files_through_gunicorn(gunicorn):
    base, tmp_path = gunicorn
    # collectstatic ran: hashed names in the manifest, pre-compressed copies next to them
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    css = manifest["css/site.css"]
    assert css != "css/site.css" and (tmp_path / "static" / f"{css}.gz").exists()

    status, headers, _ = fetch(f"{base}/")
    assert status == 301 and headers["Location"] == f"https://127.0.0.1:{base.rsplit(':', 1)[1]}/"

    https = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating proxy in front of gunicorn sends
    status, headers, body = fetch(f"{base}/accounts/login/", **https)
    page = body.decode()
    assert status == 200, (status, dict(headers), page[:500])
    assert f"/static/{css}" in page  # templates link the hashed name
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in headers["Set-Cookie"]

    status, headers, body = fetch(f"{base}/static/{css}", **https, **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]
    import gzip

    assert gzip.decompress(body) == (ROOT / "static" / "css" / "site.css").read_bytes()

    status, headers, body = fetch(f"{base}/static/css/site.css", **https)  # the unhashed name: served, cached briefly
    assert status == 200 and "immutable" not in headers.get("Cache-Control", "")
    assert fetch(f"{base}/static/css/missing.css", **https)[0] == 404


def test_each_worker_builds_the_collection_model_before_its_first_request(gunicorn):
    base, tmp_path = gunicorn
    log = tmp_path / "serve.log"
    deadline = time.monotonic() + 30
    while "collection ready" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    ready = [line for line in log.read_text().splitlines() if "collection ready" in line]
    assert len(ready) == 1, log.read_text()  # WEB_CONCURRENCY=1: one worker, one warm-up
    assert "0 photos" in ready[0]  # a fresh database: nothing to swipe yet, and still no failure
    status, _, _ = fetch(f"{base}/healthz")
    assert status == 200
