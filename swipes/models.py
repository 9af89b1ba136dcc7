import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class UserSwipeData(models.Model):
    """One swiper (a logged-in user or an anonymous browser session) and their running scores."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="swipe_data"
    )
    anon_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    queue_position = models.BigIntegerField(default=-1, help_text="Photos after this position come next.")
    scores = models.JSONField(default=dict, blank=True, help_text="Running score per city id.")
    swipe_count = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "user swipe data"
        verbose_name_plural = "user swipe data"

    def __str__(self) -> str:
        return f"{self.user} swipes" if self.user_id else f"anonymous {str(self.anon_token)[:8]}"


class Swipe(models.Model):
    """Append-only log of swipes. Undo and reset retract a swipe (set retracted_at); rows are never deleted."""

    class Retraction(models.TextChoices):
        UNDO = "undo", "undone"
        RESET = "reset", "reset"

    user_data = models.ForeignKey(UserSwipeData, on_delete=models.CASCADE, related_name="swipes")
    photo = models.ForeignKey("photos.Photo", on_delete=models.PROTECT, related_name="swipes")
    liked = models.BooleanField()
    contribution = models.JSONField(help_text="What this swipe added to the score of each city id.")
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
