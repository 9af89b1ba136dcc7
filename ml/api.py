"""POST /api/identify: which city is this photo? Thin: validation here, the work in ml.identify."""

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cityvibes_site.api_errors import ErrorSerializer
from cityvibes_site.api_fields import AsciiIntegerField, StrictBooleanField, is_ascii_digits
from cityvibes_site.throttling import IdentifyThrottle
from ml.identify import IdentifyError, IdentifyResult, UploadRejected, identify_image
from photos.models import City
from photos.serializers import CitySerializer, PhotoOutSerializer, city_fields, photo_payload

MAX_TOP_K = 20
# Multipart boundaries, headers and the small form fields on top of the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """A file part of a multipart body (documented as binary, not as a URL)."""


class FormBooleanField(StrictBooleanField):
    """true or false (any case) in a form field: not 1, 0, yes or on, which DRF would also take.

    Like the JSON API's strict types: a client that sends "0" may not mean false, and the schema
    says boolean, which a form spells true or false.
    """

    def to_internal_value(self, data):
        if isinstance(data, str) and data.lower() in {"true", "false"}:
            data = data.lower() == "true"
        return super().to_internal_value(data)


class IdentifyInSerializer(serializers.Serializer):
    image = UploadField(help_text="The photo (JPEG, PNG, WebP, GIF, BMP or TIFF).")
    top_k = AsciiIntegerField(
        min_value=1, max_value=MAX_TOP_K, default=5, help_text=f"How many cities (1-{MAX_TOP_K}, default 5)."
    )
    save = FormBooleanField(
        default=False, help_text="true: add the photo to the collection (unlabelled, held for review)."
    )


class IdentifiedCitySerializer(CitySerializer):
    probability = serializers.FloatField()


class SimilarPhotoOutSerializer(PhotoOutSerializer):
    city = CitySerializer(allow_null=True)
    similarity = serializers.FloatField(help_text="Cosine similarity with the uploaded photo.")


class IdentifyOutSerializer(serializers.Serializer):
    model_version = serializers.CharField()
    cities = IdentifiedCitySerializer(many=True, help_text="Most likely first.")
    similar_photos = SimilarPhotoOutSerializer(many=True)
    similarity_basis = serializers.ChoiceField(
        ["appearance", "vibe", "none"],
        help_text="appearance: compared by the backbone's image features; vibe: by probability vectors.",
    )
    saved_photo = serializers.IntegerField(allow_null=True, help_text="The stored photo's id when save was true.")
    confident = serializers.BooleanField(
        help_text="false: the photo is unlike everything in the collection (by the backbone's image features and "
        "its ImageNet classes), so the cities are only the closest guesses."
    )


def city_payload(city: City | None) -> dict | None:
    return None if city is None else city_fields(city)


def identify_payload(request, result: IdentifyResult) -> dict:
    return {
        "model_version": result.model_version.name,
        "cities": [{**city_payload(g.city), "probability": round(g.probability, 6)} for g in result.cities],
        "similar_photos": [
            {
                **photo_payload(request, item.photo),
                "city": city_payload(item.photo.city),
                "similarity": round(item.similarity, 6),
            }
            for item in result.similar_photos
        ],
        "similarity_basis": result.similarity_basis,
        "saved_photo": result.saved_photo.pk if result.saved_photo else None,
        "confident": result.confident,
    }


def upload_limit_bytes() -> int:
    return settings.CITYVIBES_MAX_UPLOAD_BYTES


class IdentifyView(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [IdentifyThrottle]  # CITYVIBES_RATE_IDENTIFY per swiper, shared with the /identify/ page

    def initial(self, request, *args, **kwargs):
        # Before anything parses the body (the CSRF check reads form fields): refuse what is
        # obviously too big from the header alone, so it is never read.
        length = request.META.get("CONTENT_LENGTH") or "0"
        if is_ascii_digits(length) and int(length) > upload_limit_bytes() + MULTIPART_OVERHEAD_BYTES:
            raise ParseError(f"upload too large (limit {upload_limit_bytes()} bytes)")
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, UploadRejected):  # plain words for people; the technical reason in detail
            return Response({"error": exc.plain, "detail": {"reason": str(exc)}}, status=exc.status)
        if isinstance(exc, IdentifyError):
            return Response({"error": str(exc), "detail": None}, status=exc.status)
        if isinstance(exc, UnsupportedMediaType):
            message = 'Send multipart/form-data with the photo in an "image" file field.'
            return Response({"error": f"{exc.detail} {message}", "detail": None}, status=400)
        if isinstance(exc, SuspiciousOperation):  # too many fields or files
            return Response({"error": "request refused", "detail": str(exc)}, status=400)
        return super().handle_exception(exc)

    @extend_schema(
        summary="Which city is this photo?",
        description=(
            "Classifies the uploaded photo with the active model: the most likely cities and the most "
            "similar photos already in the collection. The photo is not stored unless save is true. "
            "Uploads over CITYVIBES_MAX_UPLOAD_BYTES or CITYVIBES_MAX_IMAGE_PIXELS are refused (400). "
            "429 over CITYVIBES_RATE_IDENTIFY (per swiper, with Retry-After). 503 when no model is active yet."
        ),
        request={"multipart/form-data": IdentifyInSerializer},
        responses={
            200: IdentifyOutSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            429: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def post(self, request):
        incoming = IdentifyInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        upload = incoming.validated_data["image"]
        if upload.size > upload_limit_bytes():
            raise ParseError(f"upload too large ({upload.size} bytes > {upload_limit_bytes()})")
        result = identify_image(
            data=upload.read(), top_k=incoming.validated_data["top_k"], save=incoming.validated_data["save"]
        )
        return Response(identify_payload(request, result))
