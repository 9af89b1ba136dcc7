"""The swipe JSON API (Django REST framework). Thin: validation here, work in services/selectors."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from photos.models import Photo
from swipes import services
from swipes.selectors import confidence_for, next_photos_for, rank_cities_for, top_cities_of
from swipes.throttling import SwipeReadThrottle, SwipeWriteThrottle

MAX_NEXT = 50
MAX_PHOTO_ID = 2**63 - 1  # the largest id a photo (a bigint primary key) can have
MAX_RESULTS = 100


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true/false: "yes", 1 or "true" are ill-typed here."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class StrictIntegerField(serializers.IntegerField):
    """Only JSON integers (not strings, floats or booleans)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class SwipeInSerializer(serializers.Serializer):
    photo = StrictIntegerField(min_value=1, max_value=MAX_PHOTO_ID)
    liked = StrictBooleanField()
    next = StrictIntegerField(
        min_value=0,
        max_value=MAX_NEXT,
        default=0,
        help_text="Also answer with this many photos to swipe next, chosen knowing this swipe (as GET "
        "/api/photos/next?n= would right after it): one request per swipe instead of two.",
    )


def well_formed_swipe(data) -> dict | None:
    """The validated swipe if `data` is exactly what SwipeInSerializer accepts in its usual form (JSON
    integers and booleans within range), else None: the serializer then decides, and names what is wrong.

    Every swipe passes through here; building and running the serializer (its fields are deep-copied
    per instance) cost more CPU than this check. A test holds the two to the same answers.
    """
    if type(data) is not dict:
        return None
    photo, liked, next_n = data.get("photo"), data.get("liked"), data.get("next", 0)
    if type(photo) is not int or type(liked) is not bool or type(next_n) is not int:
        return None
    if not (1 <= photo <= MAX_PHOTO_ID and 0 <= next_n <= MAX_NEXT):
        return None
    return {"photo": photo, "liked": liked, "next": next_n}


class CreditSerializer(serializers.Serializer):
    author = serializers.CharField()
    licence = serializers.CharField()
    licence_url = serializers.CharField()
    page_url = serializers.CharField()
    source = serializers.CharField()


class PhotoOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    image_url = serializers.CharField()
    thumbnail_url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    alt = serializers.CharField()
    credit = CreditSerializer()


class CitySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField()
    region = serializers.CharField()
    slug = serializers.CharField()


class RankedCitySerializer(CitySerializer):
    rank = serializers.IntegerField()
    score = serializers.FloatField()


class NextOutSerializer(serializers.Serializer):
    photos = PhotoOutSerializer(many=True)


class SwipeOutSerializer(serializers.Serializer):
    recorded = serializers.BooleanField(help_text="False when this exact swipe was already recorded.")
    photo = serializers.IntegerField()
    liked = serializers.BooleanField()
    swipe_count = serializers.IntegerField()
    top_cities = RankedCitySerializer(many=True)
    next_photos = PhotoOutSerializer(many=True, required=False, help_text="Only when the request asked for `next`.")


class UndoOutSerializer(serializers.Serializer):
    undone = PhotoOutSerializer()
    liked = serializers.BooleanField()
    swipe_count = serializers.IntegerField()
    top_cities = RankedCitySerializer(many=True)


class ConfidenceSerializer(serializers.Serializer):
    leader = CitySerializer()
    runner_up = CitySerializer()
    leader_share = serializers.FloatField(help_text="How likely the leader is the swiper's city, 0..1")
    swipes_to_settle = serializers.IntegerField(
        allow_null=True, help_text="Well-chosen swipes until the leader's lead is settled; 0 = settled, null = many"
    )


class ResultsOutSerializer(serializers.Serializer):
    swipe_count = serializers.IntegerField()
    rule = serializers.CharField()
    cities = RankedCitySerializer(many=True)
    confidence = ConfidenceSerializer(allow_null=True)


class ResetOutSerializer(serializers.Serializer):
    retracted = serializers.IntegerField()
    swipe_count = serializers.IntegerField()


class NextQuerySerializer(serializers.Serializer):
    n = serializers.IntegerField(min_value=1, max_value=MAX_NEXT, default=5, help_text="How many photos")


class ResultsQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_RESULTS, default=10, help_text="How many cities")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.JSONField(allow_null=True)


def photo_payload(request, photo: Photo) -> dict:
    return {
        "id": photo.pk,
        "image_url": request.build_absolute_uri(photo.display_image.url),
        "thumbnail_url": request.build_absolute_uri(photo.thumbnail.url),
        "width": photo.width,
        "height": photo.height,
        "alt": photo.title or "A city photo",
        "credit": {
            "author": photo.author or "Unknown author",
            "licence": photo.licence,
            "licence_url": photo.licence_url,
            "page_url": photo.page_url,
            "source": photo.source,
        },
    }


def city_fields(city) -> dict:
    return {"id": city.pk, "name": city.name, "country": city.country, "region": city.region, "slug": city.slug}


def top_payload(scores, *, limit: int) -> list[dict]:
    """The best cities of a score vector (swipes.score_vectors.CityVector), as the swipe answers show them."""
    return [
        {"rank": i, **city_fields(city), "score": round(score, 6)}
        for i, (city, score) in enumerate(top_cities_of(scores, limit=limit), start=1)
    ]


def ranked_payload(user_data, *, limit: int) -> list[dict]:
    return [
        {"rank": i, **city_fields(item.city), "score": round(item.score, 6)}
        for i, item in enumerate(rank_cities_for(user_data, limit=limit), start=1)
    ]


def confidence_payload(user_data) -> dict | None:
    confidence = confidence_for(user_data)
    if confidence is None:
        return None
    return {
        "leader": city_fields(confidence.leader),
        "runner_up": city_fields(confidence.runner_up),
        "leader_share": round(confidence.leader_share, 4),
        "swipes_to_settle": confidence.swipes_to_settle,
    }


def query_int(request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParseError(f"{name} must be an integer between {low} and {high}") from None
    if not low <= value <= high:
        raise ParseError(f"{name} must be an integer between {low} and {high}")
    return value


class SwipeAPIView(APIView):
    # Refuses oversized bodies before parsing and turns service errors into JSON 4xx.
    # (A comment, not a docstring: drf-spectacular would repeat a docstring on every operation.)
    # Rate-limited per swiper: writes and reads each CITYVIBES_RATE_SWIPES (429 with Retry-After).
    throttle_classes = [SwipeWriteThrottle, SwipeReadThrottle]

    def initial(self, request, *args, **kwargs):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > settings.API_MAX_JSON_BODY_BYTES:
            raise ParseError(f"request body too large (limit {settings.API_MAX_JSON_BODY_BYTES} bytes)")
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, services.SwipeError):
            return Response({"error": str(exc), "detail": None}, status=exc.status)
        return super().handle_exception(exc)


class NextPhotosView(SwipeAPIView):
    @extend_schema(
        summary="The next photos to swipe",
        parameters=[NextQuerySerializer],
        responses={200: NextOutSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
    )
    def get(self, request):
        n = query_int(request, "n", default=5, low=1, high=MAX_NEXT)
        user_data = services.swiper_for_request(request, create=False)
        photos = next_photos_for(user_data, n=n)
        return Response({"photos": [photo_payload(request, p) for p in photos]})


class SwipeView(SwipeAPIView):
    @extend_schema(
        summary="Like or dislike a photo",
        request=SwipeInSerializer,
        responses={
            200: SwipeOutSerializer,
            201: SwipeOutSerializer,
            400: ErrorSerializer,
            409: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request):
        swipe = well_formed_swipe(request.data)
        if swipe is None:
            incoming = SwipeInSerializer(data=request.data)
            incoming.is_valid(raise_exception=True)
            swipe = incoming.validated_data
        outcome = services.swipe_for_request(request, photo_id=swipe["photo"], liked=swipe["liked"])
        body = {
            "recorded": outcome.created,
            "photo": outcome.swipe.photo_id,
            "liked": outcome.swipe.liked,
            "swipe_count": outcome.swipe_count,
            "top_cities": top_payload(outcome.scores, limit=5),
        }
        if swipe["next"]:
            # The swiper as the swipe left them (no second lookup). A new swipe is their last action, so
            # there is no undone photo to bring back; a repeat may come after an undo, so then look.
            swiper = services.swiper_after(outcome)
            photos = next_photos_for(swiper, n=swipe["next"], after_swipe=outcome.created)
            body["next_photos"] = [photo_payload(request, p) for p in photos]
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


class UndoView(SwipeAPIView):
    @extend_schema(
        summary="Undo the last swipe",
        request=None,
        responses={200: UndoOutSerializer, 409: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request):
        user_data = services.swiper_for_request(request, create=False)
        if user_data is None:
            raise services.NothingToUndo("there is no swipe to undo")
        swipe = services.undo_last_swipe(user_data=user_data)
        return Response(
            {
                "undone": photo_payload(request, swipe.photo),
                "liked": swipe.liked,
                "swipe_count": user_data.swipe_count,
                "top_cities": top_payload(user_data.score_vector, limit=5),
            }
        )


class ResultsView(SwipeAPIView):
    @extend_schema(
        summary="Cities ranked by this swiper's score",
        parameters=[ResultsQuerySerializer],
        responses={200: ResultsOutSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
    )
    def get(self, request):
        limit = query_int(request, "limit", default=10, low=1, high=MAX_RESULTS)
        user_data = services.swiper_for_request(request, create=False)
        return Response(
            {
                "swipe_count": user_data.swipe_count if user_data else 0,
                "rule": services.current_rule(),
                "cities": ranked_payload(user_data, limit=limit),
                "confidence": confidence_payload(user_data),
            }
        )


class ResetView(SwipeAPIView):
    @extend_schema(summary="Start over", request=None, responses={200: ResetOutSerializer, 429: ErrorSerializer})
    def post(self, request):
        user_data = services.swiper_for_request(request, create=False)
        retracted = services.reset_swipes(user_data=user_data) if user_data else 0
        return Response({"retracted": retracted, "swipe_count": 0})
