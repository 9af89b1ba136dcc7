"""Writes for the photos app: cities, and the one ingestion path every photo goes through."""

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from photos.gate import gate_reason
from photos.images import ImageRejected, jpeg_bytes, open_checked
from photos.links import web_url
from photos.models import DEMO_SOURCE, City, IngestReject, Photo
from photos.quality import perceptual_hash

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
COLLECTION_CACHE_KEY = "photos:collection-version"


@dataclass(frozen=True)
class PhotoCredit:
    source: str = ""
    source_url: str = ""
    page_url: str = ""
    author: str = ""
    licence: str = ""
    licence_url: str = ""
    title: str = ""


@dataclass(frozen=True)
class IngestResult:
    status: str  # "imported" | "duplicate" | "rejected"
    photo: Photo | None = None
    reason: str = ""
    gated: bool = False  # rejected by the quality gate (photos.gate), not for being a broken file


def queue_position_for(content_hash: str) -> int:
    """A stable, shuffled queue position: the first 60 bits of the content hash."""
    return int(content_hash[:15], 16)


def collection_version() -> int:
    """A token that changes whenever photos change; per-process caches of the collection key on it.

    Starts from the clock, not 1, so a cleared cache never brings back a version that a
    process-local cache (swipes.collection) already saw.
    """
    return cache.get_or_set(COLLECTION_CACHE_KEY, time.time_ns, timeout=None)


def bump_collection_version() -> None:
    """Tell cached collection statistics (e.g. the mean photo vector) that photos changed."""
    try:
        cache.incr(COLLECTION_CACHE_KEY)
    except ValueError:
        cache.set(COLLECTION_CACHE_KEY, time.time_ns(), timeout=None)


def city_get_or_create(*, name: str, country: str, region: str = "", **details: object) -> tuple[City, bool]:
    """The city with this name in this country/region, created if missing, with a unique slug."""
    name = " ".join(name.split())
    country = country.upper()
    existing = City.objects.filter(name__iexact=name, country=country, region__iexact=region).first()
    if existing:
        return existing, False
    base = slugify(f"{name} {region} {country}" if region else f"{name} {country}") or "city"
    slug, n = base, 1
    while City.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return City.objects.create(name=name, country=country, region=region, slug=slug, **details), True


class FolderNameRejected(ValueError):
    """A folder's name does not fit a City (str(error) says why in one line)."""


def city_fields_problem(*, name: str, region: str, country: str) -> str:
    """Why a City cannot have this name, region and country ("" if it can): checked here, because SQLite
    would store a 3-letter country and PostgreSQL would stop the whole import with a DataError."""
    longest = {field: City._meta.get_field(field).max_length for field in ("name", "region")}
    if not name:
        return "no city name"
    if len(name) > longest["name"]:
        return f"the name is longer than {longest['name']} characters"
    if len(region) > longest["region"]:
        return f'the region "{region}" is longer than {longest["region"]} characters'
    if len(country) != 2 or not (country.isascii() and country.isalpha()):
        return f'the country "{country}" is not a two-letter ISO code (e.g. US)'
    return ""


def city_from_folder_name(folder: str, *, default_country: str) -> tuple[City, bool]:
    """City for a folder in the prototype's layout, created if missing.

    'Denver' and 'new_york' are cities in the default country; 'Portland, OR' names a region
    (state) of the default country; 'Paris, , FR' or 'Springfield, IL, US' name region and country.
    An existing city with that name or alias is reused (the most populous one if the name is
    ambiguous and no region is given), so folder imports land on cities made by load_cities.
    """
    parts = [p.strip() for p in folder.replace("_", " ").split(",")]
    name = " ".join(parts[0].split())
    if name.islower():
        name = name.title()
    region = parts[1].upper() if len(parts) > 1 else ""
    country = (parts[2] if len(parts) > 2 and parts[2] else default_country).upper()
    problem = city_fields_problem(name=name, region=region, country=country)
    if problem:
        raise FolderNameRejected(f'folder "{folder}" cannot be a city: {problem}')

    candidates = City.objects.filter(country=country, name__iexact=name)
    if region:
        candidates = candidates.filter(region__iexact=region)
    match = candidates.order_by("-population", "id").first()
    if match is None and not region:
        for city in City.objects.filter(country=country).exclude(aliases=[]):
            if name.lower() in {alias.lower() for alias in city.aliases}:
                return city, False
    if match is not None:
        return match, False
    return city_get_or_create(name=name, country=country, region=region)


def _record_reject(source: str, reference: str, reason: str) -> None:
    if reference:
        IngestReject.objects.update_or_create(
            source=source, reference=reference[:1000], defaults={"reason": reason[:300]}
        )


def _new_photo(data, checked, content_hash: str, picture_hash, city: City | None, credit: PhotoCredit) -> Photo:
    """An unsaved Photo with its three renditions written to storage. An upright JPEG is kept
    byte for byte; anything else is re-encoded so browsers show it the right way up."""
    original = data if checked.format == "JPEG" and checked.image.getexif().get(0x0112, 1) == 1 else None
    if original is None:
        original = jpeg_bytes(checked.image, quality=92)
    display = jpeg_bytes(checked.image, max_side=settings.CITYVIBES_DISPLAY_MAX_SIDE, quality=82)
    thumb = jpeg_bytes(checked.image, max_side=settings.CITYVIBES_THUMB_MAX_SIDE, quality=80)
    photo = Photo(
        content_hash=content_hash,
        city=city,
        width=checked.image.width,
        height=checked.image.height,
        queue_position=queue_position_for(content_hash),
        perceptual_hash=picture_hash,
        source=credit.source,
        source_url=web_url(credit.source_url),
        page_url=web_url(credit.page_url),
        author=credit.author[:300],
        licence=credit.licence[:100],
        licence_url=web_url(credit.licence_url),
        title=credit.title[:300],
    )
    photo.image.save("original.jpg", ContentFile(original), save=False)
    photo.display_image.save("display.jpg", ContentFile(display), save=False)
    photo.thumbnail.save("thumb.jpg", ContentFile(thumb), save=False)
    return photo


def ingest_photo(
    *, data: bytes, city: City | None, credit: PhotoCredit, reference: str = "", quality_gate: bool = True
) -> IngestResult:
    """Validate, hash, store and register one photo. The only way photos enter the collection.

    Same bytes seen before -> "duplicate" (nothing written). Not a sane image, or refused by the
    quality gate (photos.gate: a near-duplicate, a drawing, a map, ...) -> "rejected" with a reason
    (recorded against `reference`, a path or URL, so later runs can skip it). quality_gate=False
    skips the gate, for generated demo pictures (which are flat drawings on purpose).
    """
    content_hash = hashlib.sha256(data).hexdigest()
    if Photo.objects.filter(content_hash=content_hash).exists():
        return IngestResult("duplicate", Photo.objects.get(content_hash=content_hash))
    try:
        checked = open_checked(
            data, max_bytes=settings.CITYVIBES_MAX_UPLOAD_BYTES, max_pixels=settings.CITYVIBES_MAX_IMAGE_PIXELS
        )
    except ImageRejected as error:
        _record_reject(credit.source, reference, str(error))
        return IngestResult("rejected", reason=str(error))
    picture_hash = perceptual_hash(checked.image)
    refused = gate_reason(checked.image, perceptual_hash=picture_hash) if quality_gate else None
    if refused:
        _record_reject(credit.source, reference, refused)
        return IngestResult("rejected", reason=refused, gated=True)

    photo = _new_photo(data, checked, content_hash, picture_hash, city, credit)
    try:
        with transaction.atomic():
            photo.save()
    except IntegrityError:
        # Another worker stored the same bytes a moment ago (or, vanishingly rarely, a 60-bit
        # queue position collision): the files written above are the same content-addressed files.
        existing = Photo.objects.filter(content_hash=content_hash).first()
        if existing:
            return IngestResult("duplicate", existing)
        if not Photo.objects.filter(queue_position=photo.queue_position).exists():
            raise
        photo.queue_position = queue_position_for(hashlib.sha256(content_hash.encode()).hexdigest())
        photo.save()
    bump_collection_version()
    return IngestResult("imported", photo)


def hash_unhashed_photos(*, batch_size: int = 200) -> tuple[int, list[tuple[int, str]]]:
    """Give photos stored before the quality gate their perceptual hash, so near-duplicates of them
    are refused too. Reads each photo's display rendition. Returns (hashed, [(photo id, why not)])."""
    hashed, unreadable = 0, []
    todo = Photo.objects.filter(perceptual_hash=None).only("id", "image", "display_image").order_by("pk")
    batch: list[Photo] = []
    for photo in todo.iterator(chunk_size=batch_size):
        field_file = photo.display_image or photo.image
        try:
            with field_file.open("rb") as f:
                data = f.read()
            checked = open_checked(data, max_bytes=len(data), max_pixels=settings.CITYVIBES_MAX_IMAGE_PIXELS)
            photo.perceptual_hash = perceptual_hash(checked.image)
        except (OSError, ImageRejected) as error:
            unreadable.append((photo.pk, str(error)))
            continue
        batch.append(photo)
        if len(batch) == batch_size:
            hashed += Photo.objects.bulk_update(batch, ["perceptual_hash"])
            batch = []
    hashed += Photo.objects.bulk_update(batch, ["perceptual_hash"]) if batch else 0
    return hashed, unreadable


def hide_demo_photos() -> int:
    """Hide the generated demo pictures, once real photos are in: they would muddle the deck and the
    model (a drawing labelled Denver beside photos of Denver). Staff can unhide them in the admin."""
    hidden = Photo.objects.filter(source=DEMO_SOURCE, hidden=False).update(hidden=True)
    if hidden:
        bump_collection_version()
    return hidden


@transaction.atomic
def delete_photo(*, photo: Photo) -> None:
    """Delete a photo and, once that is committed, its files (original, display, thumbnail) from storage.

    Files are content-addressed, so no other photo uses them. A swiped photo cannot be deleted
    (the swipe log keeps it: ProtectedError); hide it instead.
    """
    files = [(f.storage, f.name) for f in (photo.image, photo.display_image, photo.thumbnail) if f]
    photo.delete()
    bump_collection_version()

    def delete_files() -> None:
        for storage, name in files:
            storage.delete(name)

    transaction.on_commit(delete_files)


@dataclass
class ImportSummary:
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    gated: int = 0  # of the rejected: refused by the quality gate
    reasons: Counter = field(default_factory=Counter)
    rejected_files: list[tuple[str, str]] = field(default_factory=list)
    cities_created: list[str] = field(default_factory=list)

    def add(self, result: IngestResult, reference: str) -> None:
        if result.status == "imported":
            self.imported += 1
        elif result.status == "duplicate":
            self.duplicates += 1
        else:
            self.rejected += 1
            self.gated += result.gated
            self.reasons[result.reason.split(":")[0].split("(")[0].strip()] += 1
            self.rejected_files.append((reference, result.reason))

    @property
    def gate_share(self) -> float | None:
        """Share of the readable images that the quality gate refused (None when none was read)."""
        seen = self.imported + self.gated
        return self.gated / seen if seen else None


def folder_photo_files(root: Path) -> list[tuple[str, Path]]:
    """(city folder name, file) for every image file in ROOT/<city>/..., sorted for a stable order.

    A city folder that is a link to a folder outside ROOT is not followed.
    """
    found = []
    for city_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not _inside(root, city_dir):
            continue
        for path in sorted(city_dir.rglob("*")):
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                found.append((city_dir.name, path))
    return found


def import_folder(
    *,
    root: Path,
    default_country: str = "US",
    on_progress: Callable[[Path], None] | None = None,
    files: Iterable[tuple[str, Path]] | None = None,
    quality_gate: bool = True,
) -> ImportSummary:
    """Import ROOT/<city name>/*.jpg, creating cities as needed. Re-running imports only what is new.

    quality_gate=False lets generated demo pictures in (see ingest_photo).
    """
    summary = ImportSummary()
    cities: dict[str, City | str] = {}  # a folder's city, or why its name cannot be one
    for folder, path in files if files is not None else folder_photo_files(root):
        if folder not in cities:
            cities[folder] = _city_for_folder(folder, default_country=default_country, summary=summary)
        reference = str(path.relative_to(root))
        result = _import_folder_file(
            path, city=cities[folder], reference=reference, root=root, quality_gate=quality_gate
        )
        summary.add(result, reference)
        if on_progress:
            on_progress(path)
    return summary


def _city_for_folder(folder: str, *, default_country: str, summary: ImportSummary) -> City | str:
    """The folder's city (created if missing, and counted), or why the folder's name cannot be a city."""
    try:
        city, created = city_from_folder_name(folder, default_country=default_country)
    except FolderNameRejected as error:
        return str(error)
    if created:
        summary.cities_created.append(city.display_name)
    return city


def _inside(root: Path, path: Path) -> bool:
    """Whether path, links followed, is still in ROOT."""
    return path.resolve().is_relative_to(root.resolve())


def _import_folder_file(
    path: Path, *, city: City | str, reference: str, root: Path, quality_gate: bool = True
) -> IngestResult:
    """One file of a folder import. Refused (and recorded) unread when its folder cannot be a city or
    it is a link leading out of ROOT (import_photos must not read /etc/passwd for whoever made the link)."""
    if isinstance(city, str):
        problem = city
    elif not _inside(root, path):
        problem = "a link to a file outside the folder (not followed)"
    else:
        try:
            data = path.read_bytes()
        except OSError as error:
            problem = f"unreadable file: {error.strerror}"
        else:
            credit = PhotoCredit(source="folder")
            return ingest_photo(data=data, city=city, credit=credit, reference=reference, quality_gate=quality_gate)
    _record_reject("folder", reference, problem)
    return IngestResult("rejected", reason=problem)
