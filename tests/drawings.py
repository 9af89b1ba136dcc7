"""Pictures that are not photographs, drawn on the spot: what the quality gate must refuse.

And real photographs: the ones scikit-learn ships (china.jpg, a palace; flower.jpg, a dahlia).
"""

import io
import random

from PIL import Image, ImageDraw, ImageFont
from sklearn.datasets import load_sample_image


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=fmt, **options)
    return buffer.getvalue()


def real_photo(name: str) -> Image.Image:
    """ "china" or "flower" (scikit-learn's sample photos, 427 x 640)."""
    return Image.fromarray(load_sample_image(f"{name}.jpg"))


def text_banner(seed: int = 0, size=(800, 300)) -> Image.Image:
    """A tourist-office banner: a coloured title bar and lines of text on a plain background."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (255, 255, 255) if seed % 2 else tuple(rng.randint(190, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, size[0], 70], fill=tuple(rng.randint(0, 120) for _ in range(3)))
    draw.text((20, 10), "VISIT OUR CITY", font=ImageFont.load_default(size=48), fill="white")
    words = "tours hotels museums tickets book now best prices guided walks river cruise".split()
    small = ImageFont.load_default(size=20)
    for y in range(90, size[1] - 25, 28):
        draw.text((20, y), " ".join(rng.choice(words) for _ in range(8)), font=small, fill=(20, 20, 20))
    return image


def clip_art(seed: int = 0, size=(640, 480)) -> Image.Image:
    """Flat-coloured houses under a sun: clip art."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (135, 206, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 330, size[0], size[1]], fill=(90, 170, 70))
    draw.ellipse([480, 40, 580, 140], fill=(255, 215, 0))
    for _ in range(rng.randint(2, 4)):
        x, w, h = rng.randint(20, 500), rng.randint(80, 140), rng.randint(80, 200)
        draw.rectangle([x, 330 - h, x + w, 330], fill=tuple(rng.randint(60, 250) for _ in range(3)), outline="black")
        draw.polygon([(x - 10, 330 - h), (x + w // 2, 270 - h), (x + w + 10, 330 - h)], fill=(180, 40, 40))
    return image


def street_map(seed: int = 0, size=(800, 600)) -> Image.Image:
    """A town plan: parks, a river, a street grid and labels on a pale background."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (242, 239, 233))
    draw = ImageDraw.Draw(image)
    for _ in range(5):
        x, y = rng.randint(0, 700), rng.randint(0, 500)
        draw.rectangle([x, y, x + rng.randint(60, 160), y + rng.randint(60, 140)], fill=(200, 230, 190))
    draw.line([(x, rng.randint(200, 400)) for x in range(0, 900, 100)], fill=(160, 200, 240), width=28)
    for x in range(0, size[0], rng.randint(60, 90)):
        draw.line([(x, 0), (x + rng.randint(-40, 40), size[1])], fill=(255, 255, 255), width=8)
    for y in range(0, size[1], rng.randint(60, 90)):
        draw.line([(0, y), (size[0], y + rng.randint(-40, 40))], fill=(255, 255, 255), width=8)
    font = ImageFont.load_default(size=14)
    for _ in range(12):
        label = rng.choice(["Main St", "Park", "Old Town", "Station", "River Rd", "Museum"])
        draw.text((rng.randint(0, 760), rng.randint(0, 580)), label, font=font, fill=(60, 60, 60))
    return image


def flag(seed: int = 0, size=(600, 400)) -> Image.Image:
    """Three stripes and a star."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for i in range(3):
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        draw.rectangle([i * size[0] // 3, 0, (i + 1) * size[0] // 3, size[1]], fill=colour)
    draw.regular_polygon((size[0] // 2, size[1] // 2, 60), 5, fill="white")
    return image


def coat_of_arms(size=(400, 480)) -> Image.Image:
    """A quartered shield and a motto on white."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.polygon([(60, 40), (340, 40), (340, 250), (200, 440), (60, 250)], fill=(200, 20, 30), outline="black")
    draw.rectangle([60, 40, 200, 250], fill=(255, 210, 0))
    draw.polygon([(200, 250), (340, 250), (200, 440)], fill=(20, 60, 160))
    draw.text((120, 445), "CIVITAS", font=ImageFont.load_default(size=24), fill="black")
    return image


def junk_pictures() -> dict[str, bytes]:
    """Each kind of non-photo, as a harvest would get it (PNG renderings; the text also as a JPEG)."""
    return {
        "text-banner.png": encoded(text_banner()),
        "text-banner.jpg": encoded(text_banner(1), "JPEG", quality=85),
        "clip-art.png": encoded(clip_art()),
        "clip-art.jpg": encoded(clip_art(1), "JPEG", quality=85),
        "map.png": encoded(street_map()),
        "flag.png": encoded(flag()),
        "coat-of-arms.png": encoded(coat_of_arms()),
    }


def real_photos() -> dict[str, bytes]:
    """Real photos as they may come in: whole, and cropped to a sky-heavy top or a part (as PNG)."""
    china, flower = real_photo("china"), real_photo("flower")
    width, height = china.size
    return {
        "china.jpg": encoded(china, "JPEG", quality=90),
        "flower.jpg": encoded(flower, "JPEG", quality=90),
        "china-sky.jpg": encoded(china.crop((0, 0, width, height * 2 // 5)), "JPEG", quality=85),
        "flower-left.png": encoded(flower.crop((0, 0, width // 2, height))),
    }
