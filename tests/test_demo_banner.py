"""While the collection holds only generated demo pictures, the swipe page says so and how to get real photos."""

import io

import pytest
from django.core.management import call_command

from tests.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_city, make_photo

pytestmark = pytest.mark.django_db


def demo_pictures(cities: int = 2, per_city: int = 2) -> None:
    call_command(
        "demo_photos", "--cities", str(cities), "--per-city", str(per_city), "--no-progress", stdout=io.StringIO()
    )


def test_it_says_the_pictures_are_generated_and_how_to_get_real_photos(client):
    demo_pictures()
    page = " ".join(client.get("/").content.decode().split())
    assert 'id="demo-banner"' in page
    assert "Generated demo pictures, not photos of the cities:</strong> your matches only show how" in page
    assert "<code>scripts/run --starter</code>" in page


def test_it_drops_the_banner_once_a_real_photo_can_be_swiped(client):
    demo_pictures()
    make_photo(make_city("Boston"), source="wikimedia", author="Ana Lens", licence="CC0")
    assert 'id="demo-banner"' not in client.get("/").content.decode()


def test_it_shows_no_banner_on_an_empty_collection_or_real_photos(client):
    assert 'id="demo-banner"' not in client.get("/").content.decode()
    make_photo(make_city("Boston"), source="folder")
    assert 'id="demo-banner"' not in client.get("/").content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@needs_chromium
def test_it_keeps_the_card_and_buttons_on_a_phone_screen_with_the_banner(chromium, live_server):
    demo_pictures()
    context = chromium.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    page.wait_for_function("() => document.querySelector('#card img')?.naturalWidth > 0")
    page.screenshot(path=str(ARTIFACTS / "swipe-demo-banner-360x640.png"))

    assert page.locator("#demo-banner").is_visible()
    assert page.locator("#card .credit").inner_text().strip() == "generated demo image"
    for selector in ("#demo-banner", "#card", "#like-button", "#nope-button", "#undo-button"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, selector
        assert box["y"] + box["height"] <= 640, selector  # nothing needs scrolling to
    context.close()
