import os
from pathlib import Path

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def isolated_media_and_cache(settings, tmp_path):
    """Every test writes its files to its own folder and starts with an empty cache."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Tests see every photo change at once; tests/test_photo_order.py checks the rebuild interval.
    settings.CITYVIBES_PHOTO_MATRIX_MAX_AGE = 0
    # The quality gate's statistics check runs on every photo tests make; its ImageNet check (one CNN
    # pass per photo, about a quarter more CPU for the suite) only where a test turns it on
    # (tests/test_quality_gate.py).
    settings.CITYVIBES_PHOTO_CHECKS = ["photos.quality.looks_drawn"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def skip_unless_postgres(request):
    """Tests marked `postgres` are skipped, saying why (the marker's reason), unless the suite runs on
    PostgreSQL, as CI does."""
    marker = request.node.get_closest_marker("postgres")
    if marker is None:
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(f"{marker.kwargs.get('reason', 'needs PostgreSQL')}: set DATABASE_URL=postgres://... (CI does)")


@pytest.fixture
def api_client():
    """A browser-like client: it sends the CSRF token like swipe.js does (X-CSRFToken header)."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.get("/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value

    def post(path, data=None, *, raw: str | bytes | None = None, content_type="application/json", csrf=True):
        import json

        body = raw if raw is not None else json.dumps(data if data is not None else {})
        headers = {"HTTP_X_CSRFTOKEN": token} if csrf else {}
        return client.post(path, body, content_type=content_type, **headers)

    client.post_json = post
    return client


CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def chromium():
    """Real headless Chromium (Debian's), driven by Playwright; screenshots go to test-artifacts/."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test are still sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()
