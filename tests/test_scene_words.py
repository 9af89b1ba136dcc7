"""What a photo shows: the backbone's own ImageNet head on the pooled features it already caches."""

import json
from pathlib import Path

import numpy as np
import pytest

from ml.backbones import feature_extractor
from ml.efficientnet_lite import build_efficientnet_lite
from ml.imagenet import class_names, imagenet_head, top_classes
from ml.models import ModelVersion, PhotoEmbedding
from ml.preprocessing import crop_pixels, preprocess_image
from ml.scene import scene_words
from ml.services import predict_photos, scenes_of
from photos.services import PhotoCredit, ingest_photo
from tests.drawings import real_photo, real_photos
from tests.factories import make_tiny_model

PALACE = 698
REFERENCE = json.loads((Path(__file__).parent / "data" / "effnet_lite_reference.json").read_text())["outputs"]


def test_it_names_the_1000_imagenet_classes_in_the_order_of_the_logits():
    names = class_names()
    assert len(names) == 1000
    expected = {
        442: "bell cote",
        449: "boathouse",
        483: "castle",
        538: "dome",
        540: "drilling platform",
        549: "envelope",
        576: "gondola",
        611: "jigsaw puzzle",
        663: "monastery",
        668: "mosque",
        698: "palace",
        718: "pier",
        762: "restaurant",
        821: "steel arch bridge",
        829: "streetcar",
        858: "tile roof",
        873: "triumphal arch",
        916: "web site",
        917: "comic book",
        921: "book jacket",
        975: "lakeside",
        978: "seashore",
    }
    assert {index: names[index] for index in expected} == expected


def test_it_gets_the_full_models_logits_from_the_pooled_features_alone():
    china = real_photo("china")
    full = build_efficientnet_lite("lite0", include_top=True)  # the CNN with its own Dense head
    expected = np.asarray(full.predict_on_batch(preprocess_image(china, 224)[None]))[0]

    features = np.asarray(feature_extractor("efficientnet_lite0").predict_on_batch(crop_pixels(china, 224)[None]))
    logits = imagenet_head("efficientnet_lite0").logits(features)[0]

    assert features.shape == (1, 1280)
    assert np.abs(logits - expected).max() < 1e-3
    assert np.abs(logits - REFERENCE["lite0"]["china.jpg"]["logits"]).max() < 1e-3  # and PyTorch's
    assert top_classes(imagenet_head("efficientnet_lite0").probabilities(features)[0], 1)[0][0] == PALACE


def test_it_says_what_a_photo_shows_in_words_for_a_taste():
    probabilities = np.zeros(1000)
    probabilities[[821, 839, 978, 540, 985]] = [0.2, 0.15, 0.3, 0.05, 0.3]  # two bridges, seashore, ..., daisy

    assert scene_words(probabilities) == [["bridges", 0.35], ["seashores", 0.3]]
    with_skyscrapers = [["bridges", 0.35], ["seashores", 0.3], ["skyscrapers", 0.05]]
    assert scene_words(probabilities, min_probability=0.04) == with_skyscrapers


def test_a_backbone_without_an_imagenet_head_says_nothing():
    assert imagenet_head("resnet50") is None
    version = ModelVersion(name="r", backbone="resnet50", image_size=224)
    assert scenes_of([object(), object()], np.ones((2, 2048), dtype=np.float32), version) == [[], []]


@pytest.mark.django_db
def test_it_stores_what_each_photo_shows_when_predicting_and_shows_it_in_the_admin(admin_client):
    make_tiny_model()
    china = ingest_photo(data=real_photos()["china.jpg"], city=None, credit=PhotoCredit(source="test")).photo
    flower = ingest_photo(data=real_photos()["flower.jpg"], city=None, credit=PhotoCredit(source="test")).photo

    predict_photos()

    china.refresh_from_db()
    flower.refresh_from_db()
    assert [word for word, _ in china.scene][:2] == ["palaces", "bell towers"]
    assert 0.08 <= china.scene[0][1] <= 1
    assert flower.scene == []  # a daisy is no word for a place
    # A second run reads the features the first one cached, and finds the same words.
    assert PhotoEmbedding.objects.filter(content_hash=china.content_hash).exists()
    china.scene = []
    china.save(update_fields=["scene"])
    predict_photos(redo_all=True)
    china.refresh_from_db()
    assert china.scene[0][0] == "palaces"
    listing = admin_client.get("/admin/photos/photo/").content.decode()
    assert "palaces " in listing and "bell towers " in listing
