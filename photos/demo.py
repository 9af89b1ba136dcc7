"""Synthetic city pictures for demos and tests: each city has its own palette and shapes.

Drawn with Pillow, so a model can learn them and a person can tell them apart. `add_demo_photos`
puts them in the collection as what they are: generated demo images (source "demo").
"""

import io
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter

from photos.models import DEMO_CREDIT, DEMO_SOURCE
from photos.services import ImportSummary, PhotoCredit, city_from_folder_name, ingest_photo

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


def add_demo_photos(
    *, cities: int = 6, per_city: int = 12, seed: int = 7, on_progress: Callable[[], None] | None = None
) -> ImportSummary:
    """Draw `per_city` pictures for each of the first `cities` demo cities and add them, credited as
    generated (source "demo", author "generated demo image"). They skip the quality gate, which refuses
    flat drawings. The same seed draws the same pictures, so a re-run adds nothing new."""
    rng = random.Random(seed)
    credit = PhotoCredit(source=DEMO_SOURCE, author=DEMO_CREDIT)
    summary = ImportSummary()
    for name, base, accent, motif in DEMO_CITIES[:cities]:
        city, created = city_from_folder_name(name, default_country="US")
        if created:
            summary.cities_created.append(city.display_name)
        for i in range(per_city):
            buffer = io.BytesIO()
            draw_photo(rng, base, accent, motif).save(buffer, format="JPEG", quality=88)
            result = ingest_photo(data=buffer.getvalue(), city=city, credit=credit, quality_gate=False)
            summary.add(result, f"{name}/{i:03d}")
            if on_progress:
                on_progress()
    return summary
