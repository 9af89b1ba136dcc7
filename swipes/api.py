"""The swipe JSON API (Django REST framework). Thin: validation here, the work in services and selectors."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from cityvibes_site.api_errors import ErrorSerializer, error_body
from cityvibes_site.api_fields import StrictBooleanField, StrictIntegerField, is_ascii_digits, query_int
from cityvibes_site.throttling import SwipeReadThrottle, SwipeWriteThrottle
from photos.serializers import CitySerializer, PhotoOutSerializer, city_fields, photo_payload
from swipes import services
from swipes.models import UserSwipeData
from swipes.selectors import confidence_for, next_photos_for, rank_cities_for, top_cities
from swipes.sessions import current_swiper

MAX_NEXT = 50
MAX_PHOTO_ID = 2**63 - 1  # the largest id a photo (a bigint primary key) can have
MAX_RESULTS = 100


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


def top_payload(swiper: UserSwipeData, *, limit: int = 5) -> list[dict]:
    """The swiper's best cities as the swipe and undo answers show them."""
    ranked = top_cities(swiper.scores, limit=limit)
    return [{"rank": i, **city_fields(city), "score": round(score, 6)} for i, (city, score) in enumerate(ranked, 1)]


def confidence_payload(swiper: UserSwipeData | None) -> dict | None:
    confidence = confidence_for(swiper)
    if confidence is None:
        return None
    return {
        "leader": city_fields(confidence.leader),
        "runner_up": city_fields(confidence.runner_up),
        "leader_share": round(confidence.leader_share, 4),
        "swipes_to_settle": confidence.swipes_to_settle,
    }


class SwipeAPIView(APIView):
    # Refuses oversized bodies before parsing and turns service errors into JSON 4xx.
    # (A comment, not a docstring: drf-spectacular would repeat a docstring on every operation.)
    # Rate-limited per swiper: writes and reads each CITYVIBES_RATE_SWIPES (429 with Retry-After).
    throttle_classes = [SwipeWriteThrottle, SwipeReadThrottle]

    def initial(self, request, *args, **kwargs):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not is_ascii_digits(length) or int(length) > settings.API_MAX_JSON_BODY_BYTES:
            raise ParseError(f"request body too large (limit {settings.API_MAX_JSON_BODY_BYTES} bytes)")
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, services.SwipeError):
            return Response(error_body(str(exc)), status=exc.status)
        return super().handle_exception(exc)


class NextPhotosView(SwipeAPIView):
    @extend_schema(
        summary="The next photos to swipe",
        parameters=[NextQuerySerializer],
        responses={200: NextOutSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
    )
    def get(self, request):
        n = query_int(request, "n", default=5, low=1, high=MAX_NEXT)
        photos = next_photos_for(current_swiper(request), n=n)
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
        incoming = SwipeInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        swipe = incoming.validated_data
        swiper = current_swiper(request, create=True)
        outcome = services.record_swipe(swiper=swiper, photo_id=swipe["photo"], liked=swipe["liked"])
        body = {
            "recorded": outcome.created,
            "photo": outcome.swipe.photo_id,
            "liked": outcome.swipe.liked,
            "swipe_count": swiper.swipe_count,
            "top_cities": top_payload(swiper),
        }
        if swipe["next"]:
            body["next_photos"] = [photo_payload(request, p) for p in next_photos_for(swiper, n=swipe["next"])]
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


class UndoView(SwipeAPIView):
    @extend_schema(
        summary="Undo the last swipe",
        request=None,
        responses={200: UndoOutSerializer, 409: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request):
        swiper = current_swiper(request)
        if swiper is None:
            raise services.NothingToUndo("there is no swipe to undo")
        swipe = services.undo_last_swipe(swiper=swiper)
        return Response(
            {
                "undone": photo_payload(request, swipe.photo),
                "liked": swipe.liked,
                "swipe_count": swiper.swipe_count,
                "top_cities": top_payload(swiper),
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
        swiper = current_swiper(request)
        ranked = rank_cities_for(swiper, limit=limit)
        return Response(
            {
                "swipe_count": swiper.swipe_count if swiper else 0,
                "rule": services.current_rule(),
                "cities": [
                    {"rank": i, **city_fields(item.city), "score": round(item.score, 6)}
                    for i, item in enumerate(ranked, start=1)
                ],
                "confidence": confidence_payload(swiper),
            }
        )


class ResetView(SwipeAPIView):
    @extend_schema(summary="Start over", request=None, responses={200: ResetOutSerializer, 429: ErrorSerializer})
    def post(self, request):
        swiper = current_swiper(request)
        retracted = services.reset_swipes(swiper=swiper) if swiper else 0
        return Response({"retracted": retracted, "swipe_count": 0})
