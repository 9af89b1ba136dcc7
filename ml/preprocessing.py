"""Image preprocessing for the backbones (NumPy and Pillow only: no TensorFlow import)."""

from __future__ import annotations

import numpy as np
from PIL import Image

IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def center_crop(img: Image.Image, resolution: int) -> Image.Image:
    """RGB, short side resized (bilinear, aspect kept) to round(resolution * 256 / 224), centre square cropped.

    That is 256 for 224-pixel inputs, 274 for lite1's 240 and 297 for lite2's 260: the usual
    ImageNet evaluation crop ratio.
    """
    img = img.convert("RGB")
    short = round(resolution * 256 / 224)
    scale = short / min(img.size)
    width, height = (max(resolution, round(side * scale)) for side in img.size)
    img = img.resize((width, height), Image.Resampling.BILINEAR)
    left, top = (width - resolution) // 2, (height - resolution) // 2
    return img.crop((left, top, left + resolution, top + resolution))


def preprocess_image(img: Image.Image, resolution: int) -> np.ndarray:
    """One float32 (resolution, resolution, 3) EfficientNet-Lite input: centre crop, then (x - 127) / 128,
    the scaling the EfficientNet-Lite ImageNet weights were trained with."""
    return (np.asarray(center_crop(img, resolution), dtype=np.float32) - 127.0) / 128.0


def preprocess_resnet50(img: Image.Image, resolution: int) -> np.ndarray:
    """Keras' ResNet50 'caffe' preprocessing: BGR channel order, ImageNet mean subtracted."""
    x = np.asarray(center_crop(img, resolution), dtype=np.float32)[..., ::-1]
    return x - IMAGENET_BGR_MEAN
