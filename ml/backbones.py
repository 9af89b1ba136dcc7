"""Backbone registry: name -> (Keras feature extractor, input size, preprocessing).

Every feature extractor maps a batch of uint8 centre crops (size, size, 3), made by
`ml.preprocessing.crop_pixels`, to globally average-pooled features. Pixel normalisation
is the first layer of the graph, so it runs in TensorFlow's threads and batches travel as
bytes. Keras/TensorFlow are imported only when a model is built, so image decoding code
and the web process stay light.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from ml.preprocessing import IMAGENET_BGR_MEAN, crop_pixels


class UnknownBackbone(ValueError):
    pass


def _with_normalisation(model, normalise):
    """Wrap a float-input backbone so it takes uint8 pixels and normalises them in the graph."""
    import keras

    inputs = keras.Input(model.input_shape[1:], dtype="uint8", name="pixels")
    return keras.Model(inputs, model(normalise(inputs)), name=f"{model.name}_on_pixels")


def _build_lite(variant: str) -> Callable:
    def build(*, weights: str | None, input_size: int):
        import keras

        from ml.efficientnet_lite import build_efficientnet_lite

        model = build_efficientnet_lite(variant, include_top=False, weights=weights, input_size=input_size)
        # (x - 127) / 128, as ml.preprocessing.preprocess_image does for the bare port
        return _with_normalisation(model, keras.layers.Rescaling(1 / 128, offset=-127 / 128, name="lite_scaling"))

    return build


def _build_resnet50(*, weights: str | None, input_size: int):
    import keras

    class CaffeNormalisation(keras.layers.Layer):
        """Keras' ResNet50 preprocessing: RGB -> BGR, ImageNet channel means subtracted."""

        def call(self, x):
            x = keras.ops.cast(x, "float32")
            return keras.ops.flip(x, axis=-1) - keras.ops.convert_to_tensor(IMAGENET_BGR_MEAN)

    # weights="imagenet" downloads ~95 MB from the internet on first use (then cached by Keras).
    model = keras.applications.ResNet50(
        weights=weights, include_top=False, pooling="avg", input_shape=(input_size, input_size, 3)
    )
    return _with_normalisation(model, CaffeNormalisation(name="caffe_normalisation"))


@dataclass(frozen=True)
class Backbone:
    name: str
    input_size: int
    feature_dim: int
    offline: bool  # True when the weights ship in an installed package (no download)
    build: Callable
    preprocess: Callable[[Image.Image, int], np.ndarray] = crop_pixels


BACKBONES: dict[str, Backbone] = {
    "efficientnet_lite0": Backbone("efficientnet_lite0", 224, 1280, True, _build_lite("lite0")),
    "efficientnet_lite1": Backbone("efficientnet_lite1", 240, 1280, True, _build_lite("lite1")),
    "efficientnet_lite2": Backbone("efficientnet_lite2", 260, 1280, True, _build_lite("lite2")),
    "resnet50": Backbone("resnet50", 224, 2048, False, _build_resnet50),
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


_extract_lock = threading.Lock()


def extract_features(name: str, arrays: np.ndarray, *, input_size: int | None = None) -> np.ndarray:
    """Stock pooled features of a batch of crops (float32), one batch at a time: the threads of a
    web process share the one model."""
    model = feature_extractor(name, input_size=input_size)
    with _extract_lock:
        return np.asarray(model.predict_on_batch(arrays), dtype=np.float32)
