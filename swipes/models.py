import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from photos import places
from swipes.vectors import CityVector


class UserSwipeData(models.Model):
    """One swiper (a logged-in user or an anonymous browser session) and their running scores."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="swipe_data"
    )
    anon_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    queue_position = models.BigIntegerField(default=-1, help_text="Photos after this position come next.")
    # The running score per city (swipes/vectors.py): int64 city ids and float64 scores, as bytes.
    score_cities = models.BinaryField(default=b"", blank=True)
    score_values = models.BinaryField(default=b"", blank=True)
    swipe_count = models.PositiveIntegerField(default=0)
    # Quick filters (photos/places.py): the deck and the ranking keep to these cities; "" means any.
    only_region = models.CharField(
        max_length=20, blank=True, default="", choices=[("", "Anywhere"), *places.REGION_LABELS.items()]
    )
    only_size = models.CharField(
        max_length=10, blank=True, default="", choices=[("", "Any size"), *places.SIZE_LABELS.items()]
    )
    only_state = models.CharField(  # a US state, within only_region
        max_length=2, blank=True, default="", choices=[("", "Any state"), *places.US_STATES.items()]
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "user swipe data"
        verbose_name_plural = "user swipe data"

    def __str__(self) -> str:
        return f"{self.user} swipes" if self.user_id else f"anonymous {str(self.anon_token)[:8]}"

    @property
    def scores(self) -> CityVector:
        """The running score per city: the replay of the live swipes' contributions."""
        return CityVector.from_bytes(self.score_cities, self.score_values)

    @scores.setter
    def scores(self, vector: CityVector) -> None:
        self.score_cities = vector.cities_bytes()
        self.score_values = vector.values_bytes()


class Contribution(models.Model):
    """What a swipe adds to each city's score: a vector stored once, shared by every swipe that adds it.

    Rows are immutable and found by a digest of their content. A photo liked (or disliked) under
    the same rule and vectors adds the same vector for every swiper, so the swipe log stores a
    reference to it instead of K numbers per swipe: the swipe row does not grow with the number of
    cities (bench/swipe_cost.py). A new model's predictions, or a new collection mean,
    make new rows; the swipes made before keep what they added then.
    """

    digest = models.BinaryField(max_length=32, unique=True, editable=False)
    # int64 city ids and float64 values, as bytes (swipes/vectors.py)
    vector_cities = models.BinaryField(editable=False)
    vector_values = models.BinaryField(editable=False)

    def __str__(self) -> str:
        return f"contribution {self.pk} ({len(self.vector)} cities)"

    @property
    def vector(self) -> CityVector:
        return CityVector.from_bytes(self.vector_cities, self.vector_values)


class Swipe(models.Model):
    """Append-only log of swipes. Undo and reset retract a swipe (set retracted_at); rows are never deleted."""

    class Retraction(models.TextChoices):
        UNDO = "undo", "undone"
        RESET = "reset", "reset"

    user_data = models.ForeignKey(UserSwipeData, on_delete=models.CASCADE, related_name="swipes")
    photo = models.ForeignKey("photos.Photo", on_delete=models.PROTECT, related_name="swipes")
    liked = models.BooleanField()
    contribution = models.ForeignKey(
        Contribution, on_delete=models.PROTECT, related_name="swipes", help_text="What the swipe added to each city."
    )
    rule = models.CharField(max_length=20, help_text="Scoring rule that computed the contribution.")
    created = models.DateTimeField(auto_now_add=True)
    retracted_at = models.DateTimeField(null=True, blank=True)
    retraction = models.CharField(max_length=10, choices=Retraction.choices, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user_data", "photo"],
                condition=Q(retracted_at__isnull=True),
                name="one_live_swipe_per_photo",
            ),
        ]
        indexes = [models.Index(fields=["user_data", "id"])]

    def __str__(self) -> str:
        return f"{'♥' if self.liked else '✕'} photo {self.photo_id}"
