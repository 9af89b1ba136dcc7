"""Backbone registry: name -> (Keras feature extractor, input size, preprocessing).

Every feature extractor maps a batch of preprocessed (size, size, 3) float32 images to
globally average-pooled features. Keras/TensorFlow are imported only when a model is
built, so image decoding code and the web process stay light.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from ml.preprocessing import preprocess_image, preprocess_resnet50


class UnknownBackbone(ValueError):
    pass


def _build_lite(variant: str) -> Callable:
    def build(*, weights: str | None, input_size: int):
        from ml.efficientnet_lite import build_efficientnet_lite

        return build_efficientnet_lite(variant, include_top=False, weights=weights, input_size=input_size)

    return build


def _build_resnet50(*, weights: str | None, input_size: int):
    import keras

    # weights="imagenet" downloads ~95 MB from the internet on first use (then cached by Keras).
    return keras.applications.ResNet50(
        weights=weights, include_top=False, pooling="avg", input_shape=(input_size, input_size, 3)
    )


@dataclass(frozen=True)
class Backbone:
    name: str
    input_size: int
    feature_dim: int
    offline: bool  # True when the weights ship in an installed package (no download)
    build: Callable
    preprocess: Callable[[Image.Image, int], np.ndarray]


BACKBONES: dict[str, Backbone] = {
    "efficientnet_lite0": Backbone("efficientnet_lite0", 224, 1280, True, _build_lite("lite0"), preprocess_image),
    "efficientnet_lite1": Backbone("efficientnet_lite1", 240, 1280, True, _build_lite("lite1"), preprocess_image),
    "efficientnet_lite2": Backbone("efficientnet_lite2", 260, 1280, True, _build_lite("lite2"), preprocess_image),
    "resnet50": Backbone("resnet50", 224, 2048, False, _build_resnet50, preprocess_resnet50),
}
DEFAULT_BACKBONE = "efficientnet_lite0"


def get_backbone(name: str) -> Backbone:
    try:
        return BACKBONES[name]
    except KeyError:
        raise UnknownBackbone(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}") from None


@lru_cache(maxsize=4)
def feature_extractor(name: str, *, input_size: int | None = None, weights: str | None = "imagenet"):
    """The backbone's Keras feature extractor, built once per process."""
    backbone = get_backbone(name)
    return backbone.build(weights=weights, input_size=input_size or backbone.input_size)
