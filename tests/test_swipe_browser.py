"""The swipe page in real headless Chromium: drag, keys, buttons, undo, results."""

import numpy as np
import pytest

from photos.models import Photo
from swipes.models import Swipe
from tests.clients import most_of_one_city
from tests.conftest import ARTIFACTS, needs_chromium
from tests.factories import make_city, make_distinct_cities, make_model_version, make_photo, set_prediction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]


@pytest.fixture
def collection():
    """Six photos whose predictions we choose after seeing the queue order, so the test knows what it swipes."""
    cities = [make_city("Denver"), make_city("Miami"), make_city("Boston")]
    version = make_model_version(cities)
    photos = sorted(
        (
            make_photo(
                cities[i % 3],
                author=f"Author {i}",
                licence="CC BY 4.0",
                licence_url="https://creativecommons.org/licenses/by/4.0/",
            )
            for i in range(6)
        ),
        key=lambda p: p.queue_position,
    )
    vectors = {}
    for i, photo in enumerate(photos):
        vector = [0.1, 0.1, 0.1]
        vector[i % 3] = 0.8
        photo.city = cities[i % 3]
        photo.save(update_fields=["city"])
        set_prediction(photo, version, vector)
        vectors[photo.pk] = np.array(vector)
    return cities, photos, vectors


def current_card_id(page) -> int:
    return int(page.locator("#card").get_attribute("data-photo-id"))


def drag_card(page, dx: int) -> None:
    box = page.locator("#card").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + 10, steps=6)
    page.mouse.move(x + dx, y + 20, steps=6)
    page.mouse.up()


def open_swipe_page(chromium, url: str):
    """A desktop-sized page on the swipe page, collecting JavaScript errors: (context, page, errors)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/")
    return context, page, errors


# Waits are arrow functions: Playwright evaluates a bare expression with eval, which the pages'
# Content-Security-Policy refuses (script-src 'self', no 'unsafe-eval').
def wait_for_count(page, n: int) -> None:
    page.wait_for_function(f"() => document.getElementById('swipe-count').textContent === '{n}'")


def test_it_swipes_by_drag_key_and_button_undoes_and_ranks_as_the_probabilities_say(
    chromium, live_server, collection, settings
):
    settings.CITYVIBES_PHOTO_ORDER = "queue"  # a like and a nope of different cities, so the ranking is known
    cities, photos, vectors = collection
    ARTIFACTS.mkdir(exist_ok=True)
    context, page, errors = open_swipe_page(chromium, live_server.url)
    page.wait_for_selector("#card img")
    page.wait_for_function("() => document.querySelector('#card img').naturalWidth > 0")
    assert page.locator("#card .credit").inner_text().startswith("Author")
    page.screenshot(path=str(ARTIFACTS / "swipe-desktop.png"))

    liked_by_drag = current_card_id(page)
    drag_card(page, 320)
    wait_for_count(page, 1)

    noped_by_key = current_card_id(page)
    assert noped_by_key != liked_by_drag
    page.keyboard.press("ArrowLeft")
    wait_for_count(page, 2)

    liked_by_button = current_card_id(page)
    page.get_by_role("button", name="Like").click()
    wait_for_count(page, 3)

    page.get_by_role("button", name="Undo").click()
    wait_for_count(page, 2)
    assert current_card_id(page) == liked_by_button  # the undone photo is back on top

    page.goto(f"{live_server.url}/results/")
    ranked_ids = [int(x) for x in page.locator(".ranked-city").evaluate_all("els => els.map(e => e.dataset.cityId)")]
    page.screenshot(path=str(ARTIFACTS / "results-desktop.png"), full_page=True)

    # One like and one nope: the liked photo's city leads, and the noped one's, if shown, matches less.
    liked_city = Photo.objects.get(pk=liked_by_drag).city_id
    noped_city = Photo.objects.get(pk=noped_by_key).city_id
    matches = dict(zip(ranked_ids, page.locator(".ranked-city").evaluate_all("els => els.map(e => +e.dataset.match)")))
    assert ranked_ids[0] == liked_city
    assert liked_city != noped_city and matches[noped_city] < matches[liked_city]
    assert errors == []
    context.close()


def test_it_fits_a_phone_screen_and_works_by_touch(chromium, live_server, collection):
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 360, "height": 640}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    page.wait_for_function(
        "() => document.querySelector('#card img') && document.querySelector('#card img').naturalWidth > 0"
    )
    page.screenshot(path=str(ARTIFACTS / "swipe-phone-360x640.png"))
    for link in page.locator(".site-header a, .site-header button").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, link.inner_text()  # the whole nav is on screen
    for selector in ("#card", "#like-button", "#nope-button", "#undo-button"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, selector
        assert box["y"] + box["height"] <= 640, selector  # all controls visible without scrolling
    first = current_card_id(page)
    # A touch drag to the right, dispatched as pointer events the way a finger produces them.
    page.locator("#card").evaluate(
        """card => {
            const r = card.getBoundingClientRect();
            const at = (type, x) => card.dispatchEvent(new PointerEvent(type, {
                pointerId: 7, pointerType: 'touch', isPrimary: true, bubbles: true, button: 0,
                clientX: x, clientY: r.top + r.height / 2}));
            at('pointerdown', r.left + 50);
            for (let x = 50; x <= 300; x += 25) at('pointermove', r.left + x);
            at('pointerup', r.left + 300);
        }"""
    )
    wait_for_count(page, 1)
    assert current_card_id(page) != first
    context.close()


def test_it_says_so_when_another_tab_already_swiped_the_photo_the_other_way(
    chromium, live_server, collection, settings
):
    settings.CITYVIBES_PHOTO_ORDER = "queue"  # both tabs show the same first card
    context, first_tab, errors = open_swipe_page(chromium, live_server.url)
    first_tab.wait_for_selector("#card")
    first_tab.keyboard.press("ArrowRight")  # gives this browser its swiper (and session) first
    wait_for_count(first_tab, 1)
    second_tab = context.new_page()  # same browser: same session, same swiper
    second_tab.on("pageerror", lambda e: errors.append(str(e)))
    second_tab.goto(f"{live_server.url}/")
    second_tab.wait_for_selector("#card")
    photo = current_card_id(second_tab)
    assert current_card_id(first_tab) == photo

    first_tab.keyboard.press("ArrowRight")
    wait_for_count(first_tab, 2)
    second_tab.keyboard.press("ArrowLeft")  # the same photo, the other way: refused (409)
    toast = second_tab.locator("#toast")
    toast.wait_for(state="visible")
    assert toast.inner_text() == "Not saved: another tab already swiped this photo the other way."
    assert Swipe.objects.get(photo_id=photo, retracted_at=None).liked  # the first tab's like stands

    second_tab.keyboard.press("ArrowRight")  # the next card is new to this browser: recorded
    wait_for_count(second_tab, 3)
    assert errors == []
    context.close()


def test_it_prefetches_more_photos_than_the_page_shipped(chromium, live_server, collection):
    _, photos, _ = collection
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#card")
    for n in range(1, len(photos) + 1):
        page.keyboard.press("ArrowRight")
        wait_for_count(page, n)
    page.wait_for_selector("#empty:not([hidden])")
    assert "seen every photo" in page.locator("#empty").inner_text()
    context.close()


@pytest.fixture
def three_cities():
    """Three cities, five photos each, every photo predicted mostly as its own city."""
    cities = [make_city("Denver"), make_city("Miami"), make_city("Boston")]
    version = make_model_version(cities)
    for i, city in enumerate(cities):
        for _ in range(5):
            vector = [0.08, 0.08, 0.08]
            vector[i] = 0.84
            set_prediction(make_photo(city, author=f"{city.name} author"), version, vector)
    return cities


def test_it_adapts_the_deck_to_the_swipes_and_explains_the_results(chromium, live_server, three_cities):
    denver, *_ = three_cities
    context, page, errors = open_swipe_page(chromium, live_server.url)
    api_calls = []
    page.on("request", lambda r: "/api/" in r.url and api_calls.append(f"{r.method} {r.url.split('/api/')[1]}"))
    page.wait_for_selector("#card")
    shown = []
    # A swiper who loves Denver: like every Denver photo, nope the rest.
    for n in range(1, 9):
        photo = Photo.objects.get(pk=current_card_id(page))
        shown.append(photo.city)
        page.keyboard.press("ArrowRight" if photo.city == denver else "ArrowLeft")
        wait_for_count(page, n)
        # The deck is asked again after each swipe. The card already on screen was chosen before this
        # swipe; wait until the photos after it reflect every swipe, as they do when a person pauses.
        page.wait_for_function("() => document.getElementById('deck').dataset.queue === 'fresh'")
    # One request per swipe: each swipe's answer carries the photos after the next card.
    assert [c for c in api_calls if c.startswith("POST")] == ["POST swipes"] * 8
    assert [c for c in api_calls if c.startswith("GET")] == []  # (the page load's fetch came before)
    # The first cards show the collection's variety; then no city fills the deck.
    assert len(set(shown[:3])) == 3, [c.name for c in shown]
    assert all(len(set(shown[i : i + 4])) > 1 for i in range(len(shown) - 3)), [c.name for c in shown]

    page.goto(f"{live_server.url}/results/")
    assert page.locator(".ranked-city .city-name").first.inner_text() == "Denver"
    confidence = page.locator("#confidence").inner_text()
    assert "Denver" in confidence
    assert page.locator(".movers-down").count() >= 1  # the noped photos that pulled a city down
    page.screenshot(path=str(ARTIFACTS / "results-confidence-desktop.png"), full_page=True)
    assert errors == []
    context.close()


def test_the_results_fit_a_phone_screen(chromium, live_server, three_cities):
    denver, *_ = three_cities
    Photo.objects.update(author="A photographer with a long name")  # credits wider than a thumbnail
    context = chromium.new_context(viewport={"width": 360, "height": 640}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    for n in range(1, 15):
        page.wait_for_selector("#card")
        liked = Photo.objects.get(pk=current_card_id(page)).city == denver
        page.click("#like-button" if liked else "#nope-button")
        wait_for_count(page, n)
    page.goto(f"{live_server.url}/results/")
    assert page.locator(".movers-up").first.locator("li").count() == 3  # a full row of photos behind the leader
    page.screenshot(path=str(ARTIFACTS / "results-phone-360x640.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    context.close()


def test_a_fast_swiper_never_gets_more_than_three_cards_of_one_city_in_eight(chromium, live_server):
    """Someone who swipes faster than the answers come back: each answer brings photos picked to follow
    the card that was on screen when it was asked for, and by then that card may be gone. And while
    the next photos are on their way, the deck never says every photo was seen."""
    make_distinct_cities(("Denver", "Seattle", "Miami", "Chicago"), per_city=12)
    by_id = dict(Photo.objects.values_list("pk", "city__name"))
    for _ in range(3):  # three people, each with their own deck
        context, page, errors = open_swipe_page(chromium, live_server.url)
        page.wait_for_selector("#card")
        page.evaluate(
            """() => { const empty = document.getElementById('empty'); window.saidAllSeen = 0;
            new MutationObserver(() => { window.saidAllSeen += !empty.hidden; })
              .observe(empty, { attributes: true }); }"""
        )
        shown = []
        for _ in range(24):  # the next key as soon as the next card is on screen, not waiting for answers
            photo = current_card_id(page)
            shown.append(by_id[photo])
            page.keyboard.press("ArrowRight" if shown[-1] in ("Denver", "Seattle") else "ArrowLeft")
            page.wait_for_function(f"() => (document.getElementById('card') || {{}}).dataset?.photoId !== '{photo}'")
        page.wait_for_function("() => document.getElementById('deck').dataset.queue === 'fresh'")
        assert most_of_one_city(shown) <= 3, shown
        assert page.evaluate("window.saidAllSeen") == 0  # 24 of 48 photos swiped
        assert errors == []
        context.close()


def test_a_swipe_that_could_not_be_sent_brings_its_photo_back(chromium, live_server, three_cities):
    context, page, errors = open_swipe_page(chromium, live_server.url)
    page.wait_for_selector("#card")
    page.keyboard.press("ArrowRight")
    wait_for_count(page, 1)
    page.wait_for_function("() => document.getElementById('deck').dataset.queue === 'fresh'")
    photo = current_card_id(page)

    context.set_offline(True)  # the train goes into a tunnel
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("#toast:not([hidden])")
    assert "not saved (no connection)" in page.locator("#toast").inner_text()
    page.wait_for_function(f"() => document.getElementById('card')?.dataset.photoId === '{photo}'")
    assert page.locator("#swipe-count").inner_text() == "1"

    context.set_offline(False)
    page.keyboard.press("ArrowLeft")
    wait_for_count(page, 2)
    assert Swipe.objects.filter(photo_id=photo, liked=False).count() == 1
    assert errors == []
    context.close()
