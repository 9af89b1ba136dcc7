"""Which photo comes next: the deck explores the collection's variety before it narrows, one city never
fills it, each person gets their own first cards; the queue order; the per-process collection."""

import time

import pytest

from photos.models import Photo
from photos.services import bump_collection_version
from swipes import services
from swipes.collection import current_collection, forget_collection
from swipes.models import UserSwipeData
from swipes.selectors import next_photos_for
from tests.clients import browser, most_of_one_city, swipe_along
from tests.factories import make_city, make_distinct_cities, make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db

KINDS = {  # three kinds of place, two look-alike cities each
    "mountains": ("Denver", "Boulder"),
    "beaches": ("Miami", "San Diego"),
    "towers": ("Chicago", "New York"),
}


@pytest.fixture
def world():
    """Six cities in three kinds; each photo's vector mostly names its city, some its look-alike."""
    cities = [make_city(name) for names in KINDS.values() for name in names]
    version = make_model_version(cities)
    photos = {}
    for i, city in enumerate(cities):
        vector = [0.02] * len(cities)
        vector[i], vector[i ^ 1] = 0.7, 0.22  # the look-alike is the other city of the pair
        photos[city] = [set_prediction(make_photo(city), version, vector) for _ in range(5)]
    return cities, photos


def longest_run(cities: list[str]) -> int:
    best = run = 1
    for before, after in zip(cities, cities[1:]):
        run = run + 1 if before == after else 1
        best = max(best, run)
    return best


def test_the_first_cards_cover_the_kinds_of_place(world):
    shown = swipe_along(browser(), 3, like=lambda city: False)
    kinds = {kind for kind, names in KINDS.items() for name in shown if name in names}
    assert len(kinds) == 3  # one card of each kind before any second card of one


def test_one_city_never_fills_the_deck_even_for_someone_who_likes_only_it(world):
    shown = swipe_along(browser(), 30, like=lambda city: city == "Denver")
    assert len(shown) == 30
    assert longest_run(shown) <= 3, shown


def test_one_city_takes_at_most_three_of_any_eight_cards_while_others_remain():
    make_distinct_cities(("Denver", "Seattle", "Miami", "Chicago"), per_city=12)
    for _ in range(4):  # four people, each with their own deck
        shown = swipe_along(browser(), 24, like=lambda city: city in ("Denver", "Seattle"))
        assert most_of_one_city(shown) <= 3, shown


def test_different_people_get_different_first_cards(world):
    first_cards = {tuple(swipe_along(browser(), 2, like=lambda city: True)) for _ in range(6)}
    assert len(first_cards) > 1


def test_after_exploring_it_shows_the_cities_that_tell_the_liked_kind_apart(world):
    shown = swipe_along(browser(), 12, like=lambda city: city in KINDS["mountains"])
    later = shown[6:]
    assert sum(city in KINDS["mountains"] for city in later) >= 4, shown  # a closer look at the liked kind
    assert set(later) & set(KINDS["mountains"]) == set(KINDS["mountains"]), shown  # both of its cities


def test_it_never_serves_a_swiped_photo_and_runs_dry_when_all_are_swiped(world):
    cities, photos = world
    everything = [p for ps in photos.values() for p in ps]
    swiper = UserSwipeData.objects.create()
    for photo in everything[:-1]:
        services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=True)
    assert next_photos_for(swiper, n=5) == [everything[-1]]
    services.record_swipe(swiper=swiper, photo_id=everything[-1].pk, liked=False)
    assert next_photos_for(swiper, n=5) == []


def test_it_brings_an_undone_photo_back_first(world):
    swiper = UserSwipeData.objects.create()
    first = next_photos_for(swiper, n=1)[0]
    services.record_swipe(swiper=swiper, photo_id=first.pk, liked=True)
    second = next_photos_for(swiper, n=1)[0]
    services.record_swipe(swiper=swiper, photo_id=second.pk, liked=False)
    services.undo_last_swipe(swiper=swiper)
    upcoming = next_photos_for(swiper, n=3)
    assert upcoming[0] == second and len(set(upcoming)) == 3


def test_it_serves_a_photo_the_moment_an_admin_unhides_it(admin_client):
    city = make_city()
    photos = [make_photo(city) for _ in range(3)]
    Photo.objects.filter(pk=photos[0].pk).update(hidden=True)
    bump_collection_version()
    assert photos[0] not in next_photos_for(None, n=5)  # the collection is built and cached without it now
    changelist = admin_client.get("/admin/photos/photo/")
    form = {"form-TOTAL_FORMS": "3", "form-INITIAL_FORMS": "3", "_save": "Save"}
    for i, photo in enumerate(changelist.context["cl"].result_list):
        form[f"form-{i}-id"] = str(photo.pk)
        if photo.pk != photos[0].pk:
            form[f"form-{i}-hidden"] = "on"  # hide the other two, show the first
    assert admin_client.post("/admin/photos/photo/", form).status_code == 302
    assert next_photos_for(None, n=5) == [photos[0]]


def test_it_rebuilds_the_collection_at_most_every_max_age_while_photos_keep_changing(settings):
    settings.CITYVIBES_PHOTO_MATRIX_MAX_AGE = 0.5
    city = make_city()
    shown = make_photo(city)
    before = current_collection()
    added = make_photo(city)  # a harvest adding photos one by one
    Photo.objects.filter(pk=shown.pk).update(hidden=True)
    bump_collection_version()
    assert current_collection() is before  # not rebuilt on every change...
    assert next_photos_for(None, n=5) == []  # ...but a hidden photo is never served from it
    time.sleep(0.5)
    assert current_collection().photo_ids.tolist() == [added.pk]  # ...and it catches up after max age


def test_the_first_photos_of_an_empty_collection_show_at_once_whatever_the_max_age(settings):
    settings.CITYVIBES_PHOTO_MATRIX_MAX_AGE = 3600
    forget_collection()  # a new server process, started before any photo was imported
    assert next_photos_for(None, n=5) == []
    first = make_photo(make_city())  # imports bump the collection version

    assert next_photos_for(None, n=5) == [first]
    make_photo(first.city)
    assert next_photos_for(None, n=5) == [first]  # once it has photos, the max age applies again


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [("CITYVIBES_PHOTO_ORDER", "random", "cityvibes.E002"), ("CITYVIBES_SCORING_RULE", "llr", "cityvibes.E003")],
)
def test_it_refuses_to_start_with_an_unknown_order_or_rule(settings, setting, value, code):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    setattr(settings, setting, value)
    with pytest.raises(SystemCheckError, match=rf"\({code}\) {setting}='{value}' is not one of"):
        call_command("check")


def test_it_serves_photos_in_queue_order_skipping_swiped_ones_and_wrapping_around(settings):
    settings.CITYVIBES_PHOTO_ORDER = "queue"
    city = make_city()
    photos = sorted((make_photo(city) for _ in range(6)), key=lambda p: p.queue_position)
    swiper = UserSwipeData.objects.create()
    assert next_photos_for(swiper, n=3) == photos[:3]
    services.record_swipe(swiper=swiper, photo_id=photos[3].pk, liked=True)  # swiped out of order
    assert next_photos_for(swiper, n=3) == [photos[4], photos[5], photos[0]]
    assert photos[3] not in next_photos_for(swiper, n=10)
