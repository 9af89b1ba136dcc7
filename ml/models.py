from django.db import models
from django.db.models import Q


def artifact_upload_to(instance: "ModelVersion", filename: str) -> str:
    return f"models/{instance.name}/{filename}"


class ModelVersion(models.Model):
    """A trained city classifier: its artifact, the ordered city list its vectors use, and its metrics."""

    name = models.CharField(max_length=100, unique=True)
    backbone = models.CharField(max_length=40)
    image_size = models.PositiveIntegerField(default=224)
    cities = models.JSONField(default=list, help_text="Ordered City ids; every probability vector follows this order.")
    metrics = models.JSONField(default=dict, blank=True)
    artifact = models.FileField(upload_to=artifact_upload_to, blank=True, help_text="The classifier head (.keras).")
    backbone_artifact = models.FileField(
        upload_to=artifact_upload_to, blank=True, help_text="Fine-tuned backbone weights; empty = stock weights."
    )
    is_active = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        get_latest_by = "created"
        constraints = [
            # At most one active version at the database level; services keep it exactly one.
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version"),
        ]

    def __str__(self) -> str:
        return f"{self.name}{' (active)' if self.is_active else ''}"

    def validate_constraints(self, exclude=None) -> None:
        """Forms may mark this version active while another one is: saving it through
        ml.services.activate_model_version deactivates the other in the same transaction."""
        super().validate_constraints(exclude={*(exclude or ()), "is_active"})


class PhotoEmbedding(models.Model):
    """Cached backbone features of one photo's bytes (view 0: as is; views 1..n: augmented copies)."""

    content_hash = models.CharField(max_length=64)
    backbone = models.CharField(max_length=40)
    image_size = models.PositiveIntegerField()
    view = models.PositiveSmallIntegerField(default=0)
    vector = models.BinaryField(help_text="float32 features, little-endian")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["content_hash", "backbone", "image_size", "view"], name="one_embedding_per_photo_view"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.backbone}@{self.image_size} view {self.view} of {self.content_hash[:10]}"
