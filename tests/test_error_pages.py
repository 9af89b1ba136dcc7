"""A visitor who follows a bad link or hits a bug sees the site's own page, whatever DEBUG says:
never Django's technical 404 (with every URL pattern) or a traceback."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

DEBUG_MODES = pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "debug-off"])


def assert_site_page(response, status: int, heading: str) -> str:
    page = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert f'<h1 id="error-heading">{heading}</h1>' in page
    assert 'class="site-header"' in page and "/static/css/site.css" in page  # the site's look and navigation
    assert 'href="/"' in page
    return page


@DEBUG_MODES
@pytest.mark.parametrize("path", ["/cities/atlantis-xx/", "/no-such-page/"], ids=["unknown-city", "unknown-path"])
def test_it_shows_the_sites_404_page(client, settings, debug, path):
    settings.DEBUG = debug

    page = assert_site_page(client.get(path), 404, "Page not found")

    assert f"There is no page at <code>{path}</code>" in page
    assert "URLconf" not in page and "Django" not in page


@DEBUG_MODES
@pytest.mark.urls("tests.urls_with_a_crash")
def test_it_shows_the_sites_500_page_and_no_traceback(settings, debug):
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)

    page = assert_site_page(client.get("/crash/"), 500, "Something went wrong")

    assert "secret details" not in page and "Traceback" not in page and "RuntimeError" not in page


@pytest.mark.urls("tests.urls_with_a_crash")
def test_it_hides_the_traceback_from_a_client_that_does_not_ask_for_html(settings):
    settings.DEBUG = True  # Django's technical 500 is plain text for such clients
    response = Client(raise_request_exception=False).get("/crash/", headers={"Accept": "text/plain"})
    assert response.status_code == 500
    assert "secret details" not in response.content.decode()


def test_it_still_answers_json_under_api_with_debug_on(client, settings):
    settings.DEBUG = True
    response = client.get("/api/no-such-endpoint")
    assert response.status_code == 404
    assert response.json() == {"error": "not found", "detail": None}
