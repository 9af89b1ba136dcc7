"""Image validation and renditions with Pillow: no Django models here."""

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}
REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "I", "F"}  # what Image.reduce averages


class ImageRejected(ValueError):
    """The bytes are not an image we will store; str(error) is the reason."""


@dataclass(frozen=True)
class CheckedImage:
    image: Image.Image  # RGB, EXIF orientation applied, fully decoded
    format: str


def open_checked(
    data: bytes, *, max_bytes: int, max_pixels: int, max_side: int | None = None, max_full_decode_pixels: int = 0
) -> CheckedImage:
    """Decode bytes into an RGB image, refusing anything that is not a real, sane-sized image.

    Refuses: empty or oversized input, non-images (HTML error pages), unknown formats,
    truncated files, and decompression bombs (pixel count checked from the header,
    before any pixel data is decoded).

    With max_side (the longest side the caller needs), the image is decoded at reduced size: see
    `_plan_reduced_decode` and `_reduced`. The result then has a long side of max_side to 2 x max_side.
    """
    if not data:
        raise ImageRejected("empty file")
    if len(data) > max_bytes:
        raise ImageRejected(f"file too large ({len(data)} bytes > {max_bytes})")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"{")):
        raise ImageRejected("not an image (looks like an HTML/XML/JSON document)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format or ""
            if fmt not in ACCEPTED_FORMATS:
                raise ImageRejected(f"unsupported image format {fmt or 'unknown'}")
            width, height = probe.size
            if width < 1 or height < 1:
                raise ImageRejected("image has no pixels")
            if width * height > max_pixels:
                raise ImageRejected(f"too many pixels ({width}x{height} > {max_pixels} pixels)")
            probe.verify()  # structural check; the object is unusable afterwards
            image = Image.open(io.BytesIO(data))
            if max_side:
                _plan_reduced_decode(image, max_side=max_side, max_full_decode_pixels=max_full_decode_pixels)
            image.load()  # full decode: catches truncated pixel data
            if max_side:
                image = _reduced(image, max_side=max_side)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected(f"decompression bomb refused: {error}") from None
    except UnidentifiedImageError:
        raise ImageRejected("not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageRejected(f"broken image: {error}") from None
    image = ImageOps.exif_transpose(image)
    if image.mode != "RGB":
        image = _to_rgb(image)
    return CheckedImage(image=image, format=fmt)


def _smallest_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size a rendition of at most max_side needs from the decoder (the image's own when smaller)."""
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _plan_reduced_decode(image: Image.Image, *, max_side: int, max_full_decode_pixels: int) -> None:
    """Before decoding: let libjpeg decode a JPEG at 1/2, 1/4 or 1/8 scale (Image.draft), and refuse a full
    decode of more than max_full_decode_pixels (0: no such limit).

    A baseline JPEG then costs a few MB whatever its size. Everything else is decoded in full before it can
    be reduced: PNG, WebP, GIF, BMP, TIFF (up to 4 bytes a pixel), and progressive JPEGs too, whose
    coefficients libjpeg keeps for the whole image (3 to 6 bytes a pixel) at any scale.
    """
    width, height = image.size
    is_jpeg = image.format in ("JPEG", "MPO")
    if is_jpeg:
        image.draft(None, _smallest_size(image.size, max_side))
    decoded_in_full = not is_jpeg or image.info.get("progressive") or image.info.get("progression")
    if decoded_in_full and max_full_decode_pixels and width * height > max_full_decode_pixels:
        kind = "a progressive JPEG" if is_jpeg else f"a {image.format} image"
        raise ImageRejected(
            f"too many pixels for {kind} ({width}x{height} > {max_full_decode_pixels} pixels; "
            "a baseline JPEG may have more)"
        )


def _reduced(image: Image.Image, *, max_side: int) -> Image.Image:
    """The decoded image shrunk by a whole factor, still at least max_side on its long side, before any
    conversion copies it at full size."""
    target = _smallest_size(image.size, max_side)
    factor = min(image.width // target[0], image.height // target[1])
    if factor < 2:
        return image
    if image.mode not in REDUCIBLE_MODES:  # palette indices, 1-bit, 16-bit: converted first
        image = _to_rgb(image)
    return image.reduce(factor)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def jpeg_bytes(image: Image.Image, *, max_side: int | None = None, quality: int = 85) -> bytes:
    """The image as a (possibly downscaled) RGB baseline JPEG.

    Baseline, not progressive: it decodes about twice as fast, and with DCT scaling
    (Pillow's draft mode) the model pipeline reads these renditions at half size cheaply.
    """
    if max_side is not None and max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()
