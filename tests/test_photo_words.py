"""What a photo's card says about it: the alt text a screen reader reads, and who to credit."""

import html
import re

import pytest

from photos.models import Photo
from tests.factories import make_city, make_photo

pytestmark = pytest.mark.django_db


def with_scene(photo: Photo, scene: list) -> Photo:
    photo.scene = scene
    photo.save(update_fields=["scene"])
    return photo


def first_card(client) -> tuple[str, str]:
    """The swipe page's first card: (its image's alt text, its credit line)."""
    page = client.get("/").content.decode()
    alt = re.search(r'<img class="card-image"[^>]*alt="([^"]*)"', page).group(1)
    credit = re.sub(r"<[^>]+>", "", re.search(r'<p class="credit">(.*?)</p>', page, re.S).group(1))
    return html.unescape(alt), " ".join(html.unescape(credit).split())


def test_it_describes_a_photo_by_the_title_its_source_gave(client, api_client):
    make_photo(make_city("Portland", region="OR"), title="The Steel Bridge at night", source="wikimedia")
    assert first_card(client)[0] == "The Steel Bridge at night"
    assert api_client.get("/api/photos/next").json()["photos"][0]["alt"] == "The Steel Bridge at night"


def test_it_shortens_a_long_description():
    photo = make_photo(make_city(), title="A very long description of the view. " * 10)
    assert len(photo.alt_text) <= 160 and photo.alt_text.endswith("…")


@pytest.mark.parametrize(
    ("title", "scene", "alt"),
    [
        ("", [["bridges", 0.6], ["piers", 0.3], ["boathouses", 0.2]], "Photo of bridges and piers in Pittsburgh"),
        ("IMG_20190512_1234", [["bridges", 0.6]], "Photo of bridges in Pittsburgh"),  # a camera's file name
        ("", [["bridges", 0.1]], "Photo from Pittsburgh"),  # the words are too unsure to say
        ("", [], "Photo from Pittsburgh"),
    ],
)
def test_it_says_what_a_photo_without_a_title_shows_and_where(client, title, scene, alt):
    with_scene(make_photo(make_city("Pittsburgh"), title=title, source="wikimedia"), scene)
    assert first_card(client)[0] == alt


def test_it_calls_a_generated_demo_picture_what_it_is(client, api_client):
    make_photo(make_city("Denver"), source="demo", author="generated demo image")
    assert first_card(client) == ("Generated demo picture for Denver", "generated demo image")
    card = api_client.get("/api/photos/next").json()["photos"][0]
    assert card["alt"] == "Generated demo picture for Denver"
    assert card["credit"]["author"] == "generated demo image" and card["credit"]["source"] == "demo"


@pytest.mark.parametrize(
    ("source", "credit"),
    [
        ("folder", "From the collection's folder"),
        ("upload", "Uploaded by a visitor"),
        ("wikimedia", "Author named on Wikimedia Commons"),
        ("demo", "generated demo image"),
        ("", "Unknown author"),  # the one case where nobody knows
    ],
)
def test_it_never_says_unknown_author_when_the_source_is_known(client, api_client, source, credit):
    make_photo(make_city(), source=source)
    assert first_card(client)[1] == credit
    assert api_client.get("/api/photos/next").json()["photos"][0]["credit"]["author"] == credit


def test_it_gives_the_city_pages_thumbnails_words_too(client):
    denver = make_city("Denver")
    with_scene(make_photo(denver, source="folder"), [["mountains", 0.7]])
    page = client.get(f"/cities/{denver.slug}/").content.decode()
    assert 'alt="Photo of mountains in Denver"' in page
    assert "From the collection&#x27;s folder" in page
