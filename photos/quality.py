"""Is this picture a photograph? Image statistics and a perceptual hash: Pillow and NumPy only.

Two measurements tell drawn pictures (clip art, logos, flags, coats of arms, charts, text
banners, most maps as Wikimedia serves them, i.e. rendered PNGs) from camera photographs:

- Exact colours: in a drawing, a handful of exact RGB values paint most of the picture
  (background, fill colours, text colour). In a photo, sensor noise, light and JPEG make
  nearly every pixel a slightly different colour: even a clear sky is a gradient.
- Grain: the share of pixels that differ from a neighbour by a little (3 to 24 levels). Camera
  photos have this fine texture over much of the picture; a drawing is flat areas and sharp
  edges, with at most some JPEG ringing along the edges.

Measured at a working size of 384 pixels (nearest-neighbour, so no colours are averaged into
new ones) on the real photos that scikit-learn, scikit-image and matplotlib ship (18 photos, each
also re-saved at other sizes and JPEG qualities, and a sky-heavy crop: 74 pictures) and real
drawings found on this machine (icons, logos, charts, diagrams, screenshots) plus generated ones:
the four commonest exact colours covered at most 36 % of any photo (grey-scale moon and brick
photos; colour photos at most 26 %) and 55-100 % of the drawings refused, which had at most 20 %
grain; photos had at least 16 % (the sky-heavy crop), mostly 30-80 %. A picture is refused only
when both say "drawing": at least half in four exact colours *and* less than 25 % grain. No photo
was refused; 76 % of the real drawings and 89 % of the generated ones were (docs/quality_gate.md).

What this does not catch (left to the ImageNet check in ml.checks, and to people): drawings
re-saved as low-quality JPEG (the ringing spreads their colours), photos of text or maps,
and collages of photos.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

WORK_SIDE = 384
FEW_COLOURS = 4
MIN_FEW_COLOURS_SHARE = 0.5  # drawings refused: 0.55-1.0; photos: at most 0.36
MAX_GRAIN_SHARE = 0.25  # drawings: at most 0.20; photos: at least 0.16 (a sky-heavy crop; mostly 0.3-0.8)
MIN_STROKE_SHARE = 0.1  # sharp edges on that much of a drawing: text or lines, not shapes
GRAIN_LOW, GRAIN_HIGH, STROKE = 3, 24, 48  # neighbour differences, in levels of 0-255


def _working_pixels(image: Image.Image) -> np.ndarray:
    small = image.convert("RGB")
    if max(small.size) > WORK_SIDE:
        small = small.copy()
        small.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.NEAREST)
    return np.asarray(small, dtype=np.int16)


def picture_statistics(image: Image.Image) -> dict[str, float]:
    """few_colours: share of pixels in the 4 commonest exact colours; grain: share of pixels with
    a small difference (3-24 levels) to their right or lower neighbour; strokes: share with a
    sharp one (48 or more)."""
    pixels = _working_pixels(image)
    wide = pixels.astype(np.int32)
    codes = (wide[..., 0] << 16) | (wide[..., 1] << 8) | wide[..., 2]
    counts = np.unique(codes, return_counts=True)[1]
    few_colours = np.sort(counts)[::-1][:FEW_COLOURS].sum() / codes.size
    if min(pixels.shape[:2]) < 2:
        return {"few_colours": float(few_colours), "grain": 0.0, "strokes": 0.0}
    across = np.abs(np.diff(pixels, axis=1)).max(axis=2)[:-1, :]
    down = np.abs(np.diff(pixels, axis=0)).max(axis=2)[:, :-1]
    step = np.maximum(across, down)
    return {
        "few_colours": float(few_colours),
        "grain": float(((step >= GRAIN_LOW) & (step <= GRAIN_HIGH)).mean()),
        "strokes": float((step >= STROKE).mean()),
    }


def looks_drawn(image: Image.Image) -> str | None:
    """A check for the quality gate (settings.CITYVIBES_PHOTO_CHECKS): None for a photograph,
    else a one-line reason ("not a photo: ...")."""
    stats = picture_statistics(image)
    if stats["few_colours"] < MIN_FEW_COLOURS_SHARE or stats["grain"] >= MAX_GRAIN_SHARE:
        return None
    measured = f"{stats['few_colours']:.0%} in {FEW_COLOURS} colours, {stats['grain']:.0%} grain"
    if stats["strokes"] >= MIN_STROKE_SHARE:
        return f"not a photo: text or diagram, sharp strokes on flat colour ({measured})"
    return f"not a photo: clip art, logo, flag or map in flat colours ({measured})"


# --- Perceptual hash -------------------------------------------------------------------------

HASH_SIDE = 32  # the picture is shrunk to 32 x 32 grey levels...
HASH_FREQUENCIES = 8  # ...and its 8 x 8 lowest spatial frequencies make the 64 bits


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2 / n)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix(HASH_SIDE)


def perceptual_hash(image: Image.Image) -> int:
    """A 64-bit DCT hash (pHash) as a signed 64-bit integer, for a database BigIntegerField.

    Each bit says whether one of the 8 x 8 lowest frequencies of the picture's brightness is
    above their median (the constant term left out of the median). Resizing, recompression,
    small crops and colour tweaks flip few bits; a different photo flips about half.
    """
    grey = np.asarray(image.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS), dtype=np.float64)
    frequencies = (_DCT @ grey @ _DCT.T)[:HASH_FREQUENCIES, :HASH_FREQUENCIES].ravel()
    bits = frequencies > np.median(frequencies[1:])
    value = int(np.packbits(bits).view(">u8")[0])
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming_distances(query: int, hashes: np.ndarray) -> np.ndarray:
    """How many of the 64 bits differ between `query` and each of `hashes` (int64), vectorised."""
    xor = np.asarray(hashes, dtype=np.int64).view(np.uint64) ^ np.array(query, dtype=np.int64).view(np.uint64)
    return np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
