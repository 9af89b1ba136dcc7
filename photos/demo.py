"""Synthetic city photos for demos and tests: each city has its own palette and shapes.

Made with Pillow only, so a model can learn them and a person can tell them apart.
"""

import random

from PIL import Image, ImageDraw, ImageFilter

DEMO_CITIES = [
    ("Denver", (92, 120, 160), (200, 200, 210), "mountains"),
    ("Miami", (40, 170, 200), (250, 210, 150), "beach"),
    ("Chicago", (90, 90, 110), (150, 160, 180), "towers"),
    ("Seattle", (60, 90, 80), (120, 140, 150), "forest"),
    ("Phoenix", (210, 120, 60), (240, 200, 120), "desert"),
    ("Boston", (140, 60, 50), (200, 180, 160), "brick"),
    ("Portland, OR", (70, 110, 60), (170, 190, 170), "forest"),
    ("New Orleans", (130, 60, 140), (230, 190, 90), "brick"),
]


def draw_photo(rng: random.Random, base: tuple, accent: tuple, motif: str, size=(640, 480)) -> Image.Image:
    jitter = lambda c: tuple(max(0, min(255, v + rng.randint(-25, 25))) for v in c)  # noqa: E731
    image = Image.new("RGB", size, jitter(base))
    draw = ImageDraw.Draw(image)
    w, h = size
    for _ in range(rng.randint(4, 9)):
        x, y = rng.randint(0, w), rng.randint(h // 3, h)
        s = rng.randint(40, 160)
        colour = jitter(accent)
        if motif == "mountains":
            draw.polygon([(x - s, h), (x, y - s), (x + s, h)], fill=colour)
        elif motif == "beach":
            draw.ellipse([x - s, y - s // 4, x + s, y + s // 4], fill=colour)
        elif motif == "towers":
            draw.rectangle([x, y - 2 * s, x + s // 3, h], fill=colour)
        elif motif == "forest":
            draw.polygon([(x - s // 3, y), (x, y - s), (x + s // 3, y)], fill=colour)
        elif motif == "desert":
            draw.pieslice([x - s, y - s // 2, x + s, y + s // 2], 180, 360, fill=colour)
        else:
            for row in range(0, s, 12):
                draw.line([(x, y + row), (x + s, y + row)], fill=colour, width=5)
    return image.filter(ImageFilter.GaussianBlur(1))
