"""The Content-Security-Policy in real headless Chromium: the pages and swipe.js work under it, and
nothing on them is refused (a refused script, style or image fires a securitypolicyviolation event)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import needs_chromium
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]

RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(
  `${e.violatedDirective} refused ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`));
"""


def test_the_pages_work_under_the_policy_and_break_none_of_it(chromium, live_server, settings):
    settings.CITYVIBES_PHOTO_ORDER = "queue"
    cities = [make_city("Denver"), make_city("Miami")]
    version = make_model_version(cities)
    for i in range(4):
        photo = make_photo(cities[i % 2], author="Ann", licence="CC BY 4.0", page_url="https://example.org/p")
        set_prediction(photo, version, [0.8, 0.2] if i % 2 == 0 else [0.2, 0.8])
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    violations = []

    page.goto(f"{live_server.url}/")
    page.wait_for_function(
        "() => document.querySelector('#card img') && document.querySelector('#card img').naturalWidth > 0"
    )
    page.get_by_role("button", name="Like").click()  # swipe.js runs and its fetch to /api/ is allowed
    page.wait_for_function("() => document.getElementById('swipe-count').textContent === '1'")
    violations += page.evaluate("window.cspViolations")
    for path in ("/results/", "/identify/", f"/cities/{cities[0].slug}/", "/accounts/login/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        violations += [f"{path}: {v}" for v in page.evaluate("window.cspViolations")]

    page.goto(f"{live_server.url}/results/")
    bar = page.locator(".ranked-city .bar rect").first.bounding_box()
    assert bar["width"] > 0  # the score bar is drawn without an inline style

    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("boss", password="a long passphrase 7"))
    context.add_cookies([{"name": "sessionid", "value": staff.cookies["sessionid"].value, "url": live_server.url}])
    for path in ("/admin/photos/photo/", f"/admin/ml/modelversion/{version.pk}/change/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        assert page.url == f"{live_server.url}{path}"  # the admin page itself, not its log-in page
        violations += [f"{path}: {v}" for v in page.evaluate("window.cspViolations")]

    assert violations == [] and errors == []
    context.close()
