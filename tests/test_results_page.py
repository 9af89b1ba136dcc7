"""The results page says only what the swipes support, in words a person reads, in every state they can reach."""

import re

import pytest

from photos.models import Photo
from tests.clients import browser
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db

KINDS = {"mountains": ("Denver", "Boulder"), "beaches": ("Miami", "San Diego"), "towers": ("Chicago", "New York")}
SCENES = {"mountains": [["mountains", 0.6]], "beaches": [["seashores", 0.7]], "towers": [["skyscrapers", 0.5]]}


@pytest.fixture
def photos() -> dict[str, list[Photo]]:
    """Six cities in three kinds, four photos each, with words for what they show."""
    cities = [make_city(name) for names in KINDS.values() for name in names]
    version = make_model_version(cities)
    by_city = {}
    for i, city in enumerate(cities):
        vector = [0.02] * len(cities)
        vector[i], vector[i ^ 1] = 0.7, 0.22
        kind = next(kind for kind, names in KINDS.items() if city.name in names)
        by_city[city.name] = []
        for _ in range(4):
            photo = set_prediction(make_photo(city), version, vector)
            Photo.objects.filter(pk=photo.pk).update(scene=SCENES[kind])
            by_city[city.name].append(photo)
    return by_city


def swipe(client, photos: list[Photo], liked: bool) -> None:
    for photo in photos:
        assert client.post_json("/api/swipes", {"photo": photo.pk, "liked": liked}).status_code == 201


def page_text(client) -> str:
    html = client.get("/results/").content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", html.split("<main", 1)[1]).split())


def test_it_asks_for_swipes_before_there_are_any(photos):
    client = browser()
    text = page_text(client)
    assert "No results yet" in text and "Start swiping" in text
    body = client.get("/api/results").json()
    assert (body["state"], body["cities"], body["confidence"]) == ("empty", [], None)


def test_it_names_no_winner_before_a_like(photos):
    client = browser()
    swipe(client, photos["Chicago"][:2] + photos["Miami"][:1], liked=False)
    text = page_text(client)
    assert "You haven't liked a photo yet" in text
    body = client.get("/api/results").json()
    assert body["state"] == "no likes yet" and body["confidence"] is None
    assert client.post_json("/api/swipes", {"photo": photos["Denver"][0].pk, "liked": False}).json()["top_cities"] == []


def test_it_names_no_winner_for_someone_who_noped_everything(photos):
    client = browser()
    swipe(client, [p for ps in photos.values() for p in ps], liked=False)
    text = page_text(client)
    body = client.get("/api/results").json()
    assert body["state"] in ("no likes yet", "likes nothing")
    assert body["confidence"] is None and "likely your kind of place" not in text
    assert "You have seen every photo" in text and "Keep swiping" not in text


def test_it_says_so_when_someone_likes_everything(photos):
    client = browser()
    swipe(client, [p for ps in photos.values() for p in ps][:18], liked=True)
    text = page_text(client)
    assert "You like them all" in text and "Be pickier" in text
    body = client.get("/api/results").json()
    assert body["state"] == "likes everything" and body["confidence"] is None
    assert "likely your kind of place" not in text


def test_it_ranks_in_plain_numbers_with_the_best_city_on_the_longest_bar(photos):
    client = browser()
    swipe(client, photos["Denver"][:3] + photos["Boulder"][:1], liked=True)
    swipe(client, photos["Miami"][:2] + photos["Chicago"][:2], liked=False)
    html = client.get("/results/").content.decode()
    matches = [int(m) for m in re.findall(r"(\d+)% match", html)]
    widths = [int(w) for w in re.findall(r'<rect width="(\d+)"', html)]
    assert matches == sorted(matches, reverse=True) and widths == matches  # the bar is the match
    assert re.findall(r'class="city-name"[^>]*>([^<]+)<', html)[:2] in (["Denver", "Boulder"], ["Boulder", "Denver"])
    assert "You liked 4 of 4 photos like these." in " ".join(html.split())
    assert "negative" not in html and not re.search(r"-\d", " ".join(re.findall(r"\d+% match", html)))


def test_it_names_cities_liked_alike_together_not_one_of_them_as_the_leader(photos):
    client = browser()
    swipe(client, photos["Denver"][:2] + photos["Boulder"][:2], liked=True)
    swipe(client, photos["Miami"][:2] + photos["Chicago"][:2], liked=False)
    body = client.get("/api/results").json()
    assert [city["match"] for city in body["cities"][:2]] == [body["cities"][0]["match"]] * 2
    assert {city["name"] for city in body["confidence"]["level_with_leader"]} == {"Denver", "Boulder"}
    text = page_text(client)
    assert re.search(r"(Denver and Boulder|Boulder and Denver) (lead together|are each very likely)", text), text
    assert "leads" not in text and " is very likely" not in text

    swipe(client, photos["Denver"][2:3], liked=True)  # one more like for Denver: now it is ahead
    body = client.get("/api/results").json()
    assert [city["name"] for city in body["confidence"]["level_with_leader"]] == ["Denver"]
    assert re.search(r"Denver (leads|is very likely)", page_text(client))


def test_it_says_no_city_stands_out_when_many_are_level(photos):
    client = browser()
    swipe(client, [photos[name][0] for name in ("Denver", "Boulder", "Miami", "San Diego")], liked=True)
    swipe(client, [photos[name][0] for name in ("Chicago", "New York")], liked=False)
    confidence = client.get("/api/results").json()["confidence"]
    assert confidence["level_count"] == 4
    assert {city["name"] for city in confidence["level_with_leader"]} == {"Denver", "Boulder", "Miami", "San Diego"}
    sentence = re.search(r"No city stands out yet: ([^:]+) are level at \d+% match\.", page_text(client))
    assert sentence and all(name in sentence.group(1) for name in ("Denver", "Boulder", "Miami", "San Diego"))


def test_it_says_nothing_of_cities_whose_photos_were_not_seen(photos):
    client = browser()
    swipe(client, photos["Denver"][:2], liked=True)
    swipe(client, photos["Chicago"][:2], liked=False)
    body = client.get("/api/results").json()
    named = {city["name"] for city in body["cities"]}
    assert "Miami" not in named and "San Diego" not in named  # no beach photo was shown
    assert body["not_shown"] == 2
    assert "2 of 6 cities not shown yet" in page_text(client)


def test_it_says_when_a_city_is_ranked_from_its_look_alikes_photos_alone(photos):
    client = browser()
    swipe(client, photos["Denver"][:3], liked=True)
    swipe(client, photos["Chicago"][:2], liked=False)
    cities = {city["name"]: city for city in client.get("/api/results").json()["cities"]}
    assert (cities["Denver"]["seen_own"], cities["Boulder"]["seen_own"]) == (3, 0)
    assert cities["Boulder"]["seen"] == 3  # Denver's photos count for its look-alike
    text = page_text(client)
    assert (
        "You haven't seen a photo of Boulder itself yet: you liked 3 of 3 photos of cities that look like it." in text
    )
    assert "You liked 3 of 3 photos like these." in text  # Denver's own line
    assert "photo of Denver itself" not in text


def test_it_describes_the_taste_in_words(photos):
    client = browser()
    swipe(client, photos["Miami"][:2] + photos["San Diego"][:1], liked=True)
    swipe(client, photos["New York"][:2] + photos["Chicago"][:1], liked=False)
    assert "You like seashores, and pass on skyscrapers." in page_text(client)
    assert client.get("/api/results").json()["taste_words"] == {"likes": ["seashores"], "passes": ["skyscrapers"]}


def test_it_has_nothing_to_compare_in_a_one_city_collection():
    denver = make_city("Denver")
    shots = [make_photo(denver) for _ in range(3)]
    client = browser()
    swipe(client, shots[:2], liked=True)
    text = page_text(client)
    assert "The collection has one city so far" in text
    assert client.get("/api/results").json()["confidence"] is None


def test_the_mini_ranking_under_the_deck_follows_the_same_rules(photos):
    client = browser()
    assert 'id="mini-top-label" hidden' in client.get("/").content.decode()  # nothing to lean towards yet
    swipe(client, photos["Denver"][:2], liked=True)
    swipe(client, photos["New York"][:2], liked=False)
    answer = client.post_json("/api/swipes", {"photo": photos["Chicago"][0].pk, "liked": False}).json()
    top = [city["name"] for city in answer["top_cities"]]
    assert top[0] in KINDS["mountains"] and not set(top) & set(KINDS["beaches"])  # no beach photo was shown
    assert all(0 <= city["match"] <= 1 for city in answer["top_cities"])


def test_the_mini_ranking_names_all_of_the_cities_level_at_the_top_or_none(photos):
    client = browser()
    swipe(client, photos["Denver"][:2] + photos["Boulder"][:2], liked=True)
    answer = client.post_json("/api/swipes", {"photo": photos["Chicago"][0].pk, "liked": False}).json()
    assert {city["name"] for city in answer["top_cities"]} == {"Denver", "Boulder"}
    # Two kinds liked alike: four cities level, more than the three the page has room for.
    swipe(client, photos["Miami"][:2] + photos["San Diego"][:2], liked=True)
    answer = client.post_json("/api/swipes", {"photo": photos["New York"][0].pk, "liked": False}).json()
    assert answer["top_cities"] == []
    assert 'id="mini-top-label" hidden' in client.get("/").content.decode()
