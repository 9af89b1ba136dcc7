import re

from django.db import models
from django.db.models import Q
from django.utils.text import Truncator

from photos.links import web_url

DEMO_SOURCE = "demo"  # photos.demo's generated pictures
DEMO_CREDIT = "generated demo image"
# What a card says in place of the author when the source names none: never "Unknown author" for a
# source we know.
NO_AUTHOR_CREDIT = {
    DEMO_SOURCE: DEMO_CREDIT,
    "folder": "From the collection's folder",
    "upload": "Uploaded by a visitor",
    "wikimedia": "Author named on Wikimedia Commons",
}
ALT_MAX_CHARS = 160
ALT_SCENE_MIN_PROBABILITY = 0.25  # scene words as sure as this go into the alt text
# Titles that are a camera's file name ("IMG_2041", "DSC 0042", "P1010234") say nothing of the photo.
_CAMERA_FILE_NAME = re.compile(
    r"^(img|dsc[fn]?|dcim|pict?|pxl|cimg|gopr|dji|mvimg|photo|image|p)?[\W_]*\d[\d\W_]*$", re.I
)


class City(models.Model):
    """A city a photo can be labelled with and a user can be recommended."""

    name = models.CharField(max_length=120)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. US")
    region = models.CharField(
        max_length=20,
        blank=True,
        default="",
        help_text="State or admin-1 code (OR, ME, ...): tells Portland, OR from Portland, ME.",
    )
    slug = models.SlugField(max_length=160, unique=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    population = models.PositiveBigIntegerField(null=True, blank=True)
    geonames_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    aliases = models.JSONField(default=list, blank=True, help_text="Other names that mean this city.")

    class Meta:
        ordering = ["name", "country", "region"]
        verbose_name_plural = "cities"
        constraints = [
            models.UniqueConstraint(fields=["name", "country", "region"], name="city_unique_name_country_region"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        where = f"{self.region}, {self.country}" if self.region else self.country
        return f"{self.name} ({where})"


def original_upload_to(instance: "Photo", filename: str) -> str:
    return f"photos/originals/{instance.content_hash[:2]}/{instance.content_hash}.jpg"


def display_upload_to(instance: "Photo", filename: str) -> str:
    return f"photos/display/{instance.content_hash[:2]}/{instance.content_hash}.jpg"


def thumb_upload_to(instance: "Photo", filename: str) -> str:
    return f"photos/thumbs/{instance.content_hash[:2]}/{instance.content_hash}.jpg"


class PhotoQuerySet(models.QuerySet):
    def servable(self) -> "PhotoQuerySet":
        """Photos the swipe loop may show: visible and with a vector (predicted, or labelled)."""
        return self.filter(hidden=False).filter(Q(probabilities__isnull=False) | Q(city__isnull=False))


class Photo(models.Model):
    """One photo: the original file, a resized rendition for browsers, its label, credit and vector."""

    image = models.ImageField(upload_to=original_upload_to, help_text="The original (JPEG), kept as received.")
    display_image = models.ImageField(upload_to=display_upload_to, help_text="Resized rendition served to browsers.")
    thumbnail = models.ImageField(upload_to=thumb_upload_to)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the bytes as received.")
    city = models.ForeignKey(City, null=True, blank=True, on_delete=models.SET_NULL, related_name="photos")

    source = models.CharField(max_length=40, blank=True, default="", help_text="e.g. folder, wikimedia")
    source_url = models.URLField(max_length=1000, blank=True, default="")
    page_url = models.URLField(max_length=1000, blank=True, default="")
    author = models.CharField(max_length=300, blank=True, default="")
    licence = models.CharField(max_length=100, blank=True, default="")
    licence_url = models.URLField(max_length=500, blank=True, default="")
    title = models.CharField(max_length=300, blank=True, default="")

    queue_position = models.BigIntegerField(
        unique=True, help_text="Stable shuffled order in which photos are served (derived from the content hash)."
    )
    probabilities = models.JSONField(
        null=True, blank=True, help_text="Probability per city, aligned with model_version.cities."
    )
    model_version = models.ForeignKey(
        "ml.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="predicted_photos"
    )
    hidden = models.BooleanField(default=False, help_text="Hidden photos are never served to swipers.")
    perceptual_hash = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text="64-bit DCT hash of the picture (photos.quality): near-duplicates differ in few bits.",
    )
    scene = models.JSONField(
        default=list,
        blank=True,
        help_text="What the photo shows, from the backbone's ImageNet head: [[word, probability], ...].",
    )
    created = models.DateTimeField(auto_now_add=True)

    objects = PhotoQuerySet.as_manager()

    class Meta:
        ordering = ["queue_position"]

    def __str__(self) -> str:
        label = self.city.name if self.city_id else "unlabelled"
        return f"Photo {self.pk} ({label})"

    @property
    def page_link(self) -> str:
        """The photo's page as a link: only an http(s) URL (photos.links)."""
        return web_url(self.page_url)

    @property
    def licence_link(self) -> str:
        return web_url(self.licence_url)

    @property
    def credit_author(self) -> str:
        """Who to credit, as a card shows it: the author, else what the source tells (NO_AUTHOR_CREDIT)."""
        return self.author or NO_AUTHOR_CREDIT.get(self.source, "Unknown author")

    @property
    def credit(self) -> str:
        return " · ".join(part for part in (self.credit_author, self.licence) if part)

    @property
    def alt_text(self) -> str:
        """The photo in words for screen readers: its title or description where the source gave one,
        else what it shows (Photo.scene) and where ("Photo of bridges in Pittsburgh").

        Reads title, source, scene and the city's name: card queries load them (photos.serializers.CARD_FIELDS).
        """
        title = " ".join(self.title.split())
        if title and not _CAMERA_FILE_NAME.match(title):
            return Truncator(title).chars(ALT_MAX_CHARS)
        city = self.city.name if self.city_id else ""
        if self.source == DEMO_SOURCE:
            return f"Generated demo picture for {city}" if city else "Generated demo picture"
        what = " and ".join(word for word, p in (self.scene or [])[:2] if p >= ALT_SCENE_MIN_PROBABILITY)
        if what:
            return f"Photo of {what} in {city}" if city else f"Photo of {what}"
        return f"Photo from {city}" if city else "A city photo"


class IngestReject(models.Model):
    """A file that ingestion refused, with the reason: kept so runs can report and skip it next time."""

    source = models.CharField(max_length=40)
    reference = models.CharField(max_length=1000, help_text="Path or URL of what was rejected.")
    reason = models.CharField(max_length=300)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [models.UniqueConstraint(fields=["source", "reference"], name="reject_unique_reference")]

    def __str__(self) -> str:
        return f"{self.reference}: {self.reason}"
