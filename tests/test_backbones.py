"""ml/backbones.py: the registry of feature extractors."""

import numpy as np
import pytest
from PIL import Image

from ml.backbones import BACKBONES, UnknownBackbone, get_backbone


def test_it_lists_the_offline_lites_and_resnet50():
    assert set(BACKBONES) == {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "resnet50"}
    assert all(BACKBONES[f"efficientnet_lite{i}"].offline for i in range(3))
    assert not BACKBONES["resnet50"].offline  # its ImageNet weights are downloaded by Keras


def test_it_names_the_choices_for_an_unknown_backbone():
    with pytest.raises(UnknownBackbone, match="choose one of efficientnet_lite0"):
        get_backbone("vgg16")


def test_it_builds_the_resnet50_graph_with_pooled_2048_features():
    backbone = get_backbone("resnet50")
    model = backbone.build(weights=None, input_size=96)  # weights="imagenet" would download; not here
    image = Image.new("RGB", (160, 120), (120, 80, 40))
    x = backbone.preprocess(image, 96)
    assert x.shape == (96, 96, 3) and x.dtype == np.uint8
    assert model.predict_on_batch(x[None]).shape == (1, 2048)
    normalise = model.get_layer("caffe_normalisation")
    assert np.asarray(normalise(x[None]))[0, 0, 0].tolist() == pytest.approx([40 - 103.939, 80 - 116.779, 120 - 123.68])


def test_it_normalises_pixels_in_the_graph_exactly_like_the_bare_ports_preprocessing():
    from ml.efficientnet_lite import build_efficientnet_lite
    from ml.preprocessing import preprocess_image

    photo = Image.effect_mandelbrot((300, 200), (-2, -1, 1, 1), 60).convert("RGB")
    on_pixels = get_backbone("efficientnet_lite0").build(weights="imagenet", input_size=224)
    bare = build_efficientnet_lite("lite0", include_top=False, weights="imagenet")
    from_pixels = on_pixels.predict_on_batch(get_backbone("efficientnet_lite0").preprocess(photo, 224)[None])
    from_floats = bare.predict_on_batch(preprocess_image(photo, 224)[None])
    assert np.abs(from_pixels - from_floats).max() < 1e-4


def test_it_runs_a_lite_backbone_at_another_input_size():
    backbone = get_backbone("efficientnet_lite0")
    model = backbone.build(weights="imagenet", input_size=128)
    x = np.stack([backbone.preprocess(Image.new("RGB", (300, 200), c), 128) for c in ((0, 0, 0), (250, 250, 250))])
    features = model.predict_on_batch(x)
    assert features.shape == (2, 1280)
    assert not np.allclose(features[0], features[1])
