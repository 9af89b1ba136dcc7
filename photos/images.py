"""Image validation and renditions with Pillow: no Django models here."""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}


class ImageRejected(ValueError):
    """The bytes are not an image we will store; str(error) is the reason."""


@dataclass(frozen=True)
class CheckedImage:
    image: Image.Image  # RGB, EXIF orientation applied, fully decoded
    format: str


def open_checked(data: bytes, *, max_bytes: int, max_pixels: int) -> CheckedImage:
    """Decode bytes into an RGB image, refusing anything that is not a real, sane-sized image.

    Refuses: empty or oversized input, non-images (HTML error pages), unknown formats,
    truncated files, and decompression bombs (pixel count checked from the header,
    before any pixel data is decoded).
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
            image.load()  # full decode: catches truncated pixel data
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
