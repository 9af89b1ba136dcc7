"""The admin's photo and model-version lists fit a 1280 px wide screen: no sideways scrolling of the results."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from ml.models import ModelVersion
from tests.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]

MEASURE = """() => {
  const table = document.querySelector('#result_list'), box = table.closest('.results') || table.parentElement;
  return {page: document.documentElement.scrollWidth, viewport: window.innerWidth,
          table: table.scrollWidth, room: box.clientWidth};
}"""


@pytest.fixture
def crowded_lists():
    """What a real harvest gives: long city names, long credits and titles, three predictions and scene words each."""
    cities = [
        make_city("Salt Lake City", region="UT"),
        make_city("San Francisco", region="CA"),
        make_city("New Orleans", region="LA"),
    ]
    version = make_model_version(cities, name="efficientnet_lite0-20250611-142233")
    make_model_version(cities, active=False, name="efficientnet_lite2-20250610-091502-fine-tuned-again")
    ModelVersion.objects.update(metrics={"val": {"accuracy": 0.734}, "test": {"accuracy": 0.701}})
    for i in range(6):
        photo = make_photo(
            cities[i % 3],
            source="wikimedia",
            author=f"Bartholomew Featherstonehaugh-Montgomery {i} (Wikimedia Commons user)",
            licence="CC BY-SA 4.0 international",
            licence_url="https://creativecommons.org/licenses/by-sa/4.0",
            page_url=f"https://commons.wikimedia.org/wiki/File:A_very_long_file_name_of_a_view_{i}.jpg",
            title="The view over the old harbour from the top of the hill at sunset, with the bridge and the ferries",
        )
        set_prediction(photo, version, [0.52, 0.31, 0.17])
        photo.scene = [["triumphal arches", 0.41], ["suspension bridges", 0.22], ["paddle steamers", 0.12]]
        photo.save(update_fields=["scene"])
    return version


def staff_page(chromium, live_server):
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("boss", password="a long passphrase 7"))
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": "sessionid", "value": staff.cookies["sessionid"].value, "url": live_server.url}])
    return context, context.new_page()


@pytest.mark.parametrize("path", ["/admin/photos/photo/", "/admin/ml/modelversion/"], ids=["photos", "model-versions"])
def test_it_fits_the_admin_list_on_a_1280_px_screen(chromium, live_server, crowded_lists, path):
    context, page = staff_page(chromium, live_server)
    page.goto(f"{live_server.url}{path}")
    page.wait_for_selector("#result_list")
    page.screenshot(path=str(ARTIFACTS / f"admin-{path.strip('/').replace('/', '-')}-1280.png"), full_page=True)

    size = page.evaluate(MEASURE)

    assert size["page"] <= size["viewport"], size  # the page does not scroll sideways
    assert size["table"] <= size["room"], size  # nor does the results table inside it
    context.close()
