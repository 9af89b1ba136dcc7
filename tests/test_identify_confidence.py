"""Identify says "not sure" when a photo is unlike everything in the collection.

Judged by distance in the backbone's feature space to the nearest collection photo, against the
collection's own spread, and by the ImageNet head (a daisy is not a place); not by the top softmax
probability, which always names some city.
"""

import html
import uuid

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ml.identify import judge_confidence
from ml.selectors import FAR_CAP, FAR_FLOOR, Closeness
from ml.services import TrainingOptions, train_model_version
from ml.similarity import far_distance, nearest_other_distances, unit_rows
from photos.models import Photo
from photos.services import PhotoCredit, ingest_photo
from tests.drawings import encoded, real_photo, real_photos
from tests.factories import make_city, make_demo_collection

NOT_SURE = "This doesn't look like any city in the collection"


def palace_collection() -> tuple[Photo, dict]:
    """Two demo cities and "Beijing", whose photos are parts of the palace in china.jpg; a trained model."""
    collection = make_demo_collection(cities=2, per_city=3)
    beijing = make_city("Beijing", country="CN")
    china = real_photo("china")
    width, height = china.size
    parts = [(0, 0, 0.6, 1), (0.4, 0, 1, 1), (0, 0.3, 1, 1), (0.15, 0, 0.85, 0.75)]
    for left, top, right, bottom in parts:
        part = china.crop((int(left * width), int(top * height), int(right * width), int(bottom * height)))
        result = ingest_photo(data=encoded(part, "JPEG", quality=90), city=beijing, credit=PhotoCredit(source="t"))
        assert result.status == "imported", result.reason
    options = TrainingOptions(
        epochs=20, augment_views=0, min_photos_per_city=3, activate=True, name=f"palaces-{uuid.uuid4().hex[:8]}"
    )
    train_model_version(options=options)
    return beijing, collection


def post(api_client, data: bytes):
    upload = SimpleUploadedFile("photo.jpg", data, content_type="image/jpeg")
    token = api_client.cookies["csrftoken"].value
    return api_client.post("/api/identify", {"image": upload}, HTTP_X_CSRFTOKEN=token)


@pytest.mark.django_db
def test_it_is_confident_about_a_photo_like_the_collection_and_not_about_a_flower(api_client):
    beijing, collection = palace_collection()

    palace = post(api_client, real_photos()["china.jpg"]).json()
    itself = post(api_client, next(iter(collection.values()))[0].image.read()).json()
    flower = post(api_client, real_photos()["flower.jpg"]).json()

    assert palace["confident"] is True and palace["cities"][0]["id"] == beijing.pk
    assert itself["confident"] is True
    assert flower["confident"] is False
    assert len(flower["cities"]) == 3  # the closest guesses are still given
    assert set(flower) == set(palace)  # same shape either way


@pytest.mark.django_db
def test_the_page_says_a_flower_does_not_look_like_any_city(client):
    palace_collection()

    flower = client.post("/identify/", {"image": SimpleUploadedFile("f.jpg", real_photos()["flower.jpg"])})
    palace = client.post("/identify/", {"image": SimpleUploadedFile("c.jpg", real_photos()["china.jpg"])})

    page = html.unescape(flower.content.decode())
    assert flower.status_code == 200
    assert NOT_SURE in page and "Closest guesses" in page and "Most likely" not in page
    assert 'class="ranking unsure"' in page and 'data-confident="false"' in page
    assert "It looks more like a daisy than a place." in page
    page = html.unescape(palace.content.decode())
    assert NOT_SURE not in page and "Most likely" in page and 'data-confident="true"' in page
    assert "It shows palaces" in page


def test_the_yardstick_comes_from_the_collection_with_a_floor_and_a_cap():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=64)
    tight = unit_rows(centre + rng.normal(scale=0.05, size=(30, 64)))  # near-copies of one picture
    spread = unit_rows(rng.normal(size=(30, 64)))  # unrelated pictures

    assert nearest_other_distances(tight).max() < 0.01
    assert far_distance(nearest_other_distances(tight), percentile=95, floor=FAR_FLOOR, cap=FAR_CAP) == FAR_FLOOR
    assert far_distance(nearest_other_distances(spread), percentile=95, floor=FAR_FLOOR, cap=FAR_CAP) == FAR_CAP
    middle = np.linspace(0.1, 0.5, 101)
    assert far_distance(middle, percentile=95, floor=FAR_FLOOR, cap=FAR_CAP) == pytest.approx(0.48)
    assert far_distance(np.zeros(0), percentile=95, floor=FAR_FLOOR, cap=FAR_CAP) == FAR_CAP
    assert len(nearest_other_distances(spread, sample=10)) == 10


def test_a_picture_that_is_clearly_not_a_place_must_be_twice_as_close():
    cat = np.zeros(1000)
    cat[281] = 0.8  # tabby cat
    street = np.zeros(1000)
    street[829] = 0.8  # streetcar

    assert judge_confidence(Closeness(0.3, 0.5, 100), street).confident
    doubt = judge_confidence(Closeness(0.3, 0.5, 100), cat)
    assert not doubt.confident and doubt.doubt.startswith("It looks more like a tabby than a place.")
    assert judge_confidence(Closeness(0.0, 0.5, 100), cat).confident  # a collection photo of a cat in a street
    assert not judge_confidence(Closeness(0.6, 0.5, 100), street).confident
    assert judge_confidence(None, street).confident and not judge_confidence(None, cat).confident
