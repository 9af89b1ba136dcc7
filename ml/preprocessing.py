"""Image preprocessing for the backbones (NumPy and Pillow only: no TensorFlow import)."""

from __future__ import annotations

import numpy as np
from PIL import Image

IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def center_crop(img: Image.Image, resolution: int) -> Image.Image:
    """The usual ImageNet evaluation crop, in one resampling step.

    Conceptually: short side resized (bilinear, aspect kept) to round(resolution * 256 / 224),
    then the centre square cropped. That is 256 for 224-pixel inputs, 274 for lite1's 240 and
    297 for lite2's 260. Only the cropped square is resampled (Pillow's `box`), which is
    faster than resizing the whole image first.
    """
    img = img.convert("RGB")
    short = round(resolution * 256 / 224)
    scale = short / min(img.size)
    width, height = (max(resolution, round(side * scale)) for side in img.size)
    left, top = (width - resolution) // 2, (height - resolution) // 2
    sx, sy = img.size[0] / width, img.size[1] / height
    box = (left * sx, top * sy, (left + resolution) * sx, (top + resolution) * sy)
    return img.resize((resolution, resolution), Image.Resampling.BILINEAR, box=box)


def crop_pixels(img: Image.Image, resolution: int) -> np.ndarray:
    """The centre crop as a uint8 (resolution, resolution, 3) array: what the backbones take.

    Each backbone normalises pixels inside its Keras graph (see ml.backbones), so batches
    travel as bytes and the normalisation runs in TensorFlow's threads.
    """
    return np.asarray(center_crop(img, resolution), dtype=np.uint8)


def preprocess_image(img: Image.Image, resolution: int) -> np.ndarray:
    """One float32 EfficientNet-Lite input for the bare port (ml.efficientnet_lite): centre crop,
    then (x - 127) / 128, the scaling the EfficientNet-Lite ImageNet weights were trained with."""
    return (crop_pixels(img, resolution).astype(np.float32) - 127.0) / 128.0
