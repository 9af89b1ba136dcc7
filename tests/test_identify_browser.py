"""The /identify/ page in real headless Chromium: choose a file, submit, read the top city."""

import random
import uuid

import pytest

from ml.services import TrainingOptions, predict_photos, train_model_version
from photos.demo import DEMO_CITIES, draw_photo
from photos.models import Photo
from tests.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_demo_collection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]


def test_it_uploads_a_photo_and_shows_the_top_city(chromium, live_server, tmp_path):
    collection = make_demo_collection(cities=3, per_city=5)
    options = TrainingOptions(
        epochs=20, augment_views=0, min_photos_per_city=3, activate=True, name=f"browser-{uuid.uuid4().hex[:8]}"
    )
    train_model_version(options=options)
    predict_photos()
    before = Photo.objects.count()
    _, base, accent, motif = next(c for c in DEMO_CITIES if c[0] == "Chicago")
    upload = tmp_path / "my-city.jpg"
    draw_photo(random.Random(99), base, accent, motif).save(upload, format="JPEG", quality=88)
    chicago = next(city for city in collection if city.name == "Chicago")

    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/identify/")
    page.get_by_label("Your photo").set_input_files(str(upload))
    assert not page.get_by_label("Add my photo to the collection").is_checked()
    page.get_by_role("button", name="Identify").click()
    page.wait_for_selector("#identified-cities")

    first = page.locator("#identified-cities li").first
    assert first.get_attribute("data-city-id") == str(chicago.pk)
    assert first.locator(".city-name").inner_text() == "Chicago"
    assert first.locator(".score").inner_text().endswith("%")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#similar-photos img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.screenshot(path=str(ARTIFACTS / "identify-desktop.png"), full_page=True)

    first.locator(".city-name").click()  # on to the city's page
    page.wait_for_selector("#city-heading")
    assert page.locator("#city-heading").inner_text().startswith("Chicago")
    assert page.locator("#similar-cities li.similar-city").count() == 2
    assert Photo.objects.count() == before  # nothing stored without the checkbox
    assert errors == []
    context.close()
