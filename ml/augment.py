"""Augmentations that keep a city's look: horizontal flip, a small crop, mild colour jitter.

Deterministic per (photo, view): the same seed gives the same augmented view, so its
embedding can be cached like the plain one.
"""

import random

from PIL import Image, ImageEnhance


def augmented_view(img: Image.Image, *, seed: int) -> Image.Image:
    rng = random.Random(seed)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    scale = rng.uniform(0.8, 1.0)  # keep 64-100% of the area
    width, height = img.size
    crop_w, crop_h = round(width * scale), round(height * scale)
    left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
    img = img.crop((left, top, left + crop_w, top + crop_h))
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        img = enhancer(img).enhance(rng.uniform(0.9, 1.1))
    return img
