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
from photos import places
from photos.serializers import CitySerializer, PhotoOutSerializer, city_fields, photo_payload
from swipes import services
from swipes.selectors import (
    Confidence,
    Filters,
    RankedCity,
    confidence_from,
    current_rule,
    filters_of,
    leading_cities,
    next_photos_for,
    rank_cities_for,
    summary_of,
    taste_of,
)
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
    showing = StrictIntegerField(
        min_value=1,
        max_value=MAX_PHOTO_ID,
        required=False,
        help_text="The photo the page already shows next, if any: the next photos are chosen to follow it "
        "(another city, another kind of place) and never repeat it.",
    )


class RankedCitySerializer(CitySerializer):
    rank = serializers.IntegerField()
    score = serializers.FloatField(
        help_text="What the ranking is ordered by: the match (0..1) under the taste rule, the summed photo "
        "vectors under the sum rule."
    )
    match = serializers.FloatField(help_text="The share of the city's photos you are expected to like, 0..1.")
    match_spread = serializers.FloatField(help_text="How unsure that share still is (a standard deviation).")
    kind_probability = serializers.FloatField(
        help_text="How likely the city is of the kind of place you like, 0..1 (calibrated in bench/discovery.py)."
    )
    liked = serializers.IntegerField(help_text="Photos of it or its look-alikes you liked ...")
    seen = serializers.IntegerField(help_text="... of how many you swiped.")
    seen_own = serializers.IntegerField(
        help_text="Photos of the city itself you swiped; 0: it is ranked from photos of its look-alikes alone."
    )


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
    leader_share = serializers.FloatField(help_text="How likely the leader is of the kind of place you like, 0..1")
    level_with_leader = CitySerializer(
        many=True, help_text="The leader and the cities listed with the same match (in whole percent), best first"
    )
    level_count = serializers.IntegerField(help_text="How many cities have the leader's match, listed or not")
    swipes_to_settle = serializers.IntegerField(
        allow_null=True,
        help_text="0 when the leader, and every city level with it, is likely at 80% or more; null: keep swiping",
    )


class TasteWordsSerializer(serializers.Serializer):
    likes = serializers.ListField(
        child=serializers.CharField(), help_text='What your liked photos show, e.g. "palaces"'
    )
    passes = serializers.ListField(child=serializers.CharField(), help_text="What the photos you passed on show")


class ResultsOutSerializer(serializers.Serializer):
    swipe_count = serializers.IntegerField()
    rule = serializers.CharField()
    cities = RankedCitySerializer(many=True, help_text="Only cities whose photos (or look-alikes') you have seen.")
    confidence = ConfidenceSerializer(allow_null=True)
    state = serializers.ChoiceField(
        ["empty", "no likes yet", "likes nothing", "likes everything", "exploring", "taste found"],
        help_text="What the swipes say as a whole.",
    )
    taste_words = TasteWordsSerializer()
    not_shown = serializers.IntegerField(
        help_text="Cities whose photos you have not seen yet: nothing is said of them."
    )
    photos_left = serializers.BooleanField(
        help_text="False once every photo has been swiped (every photo of the filters' cities, if any)."
    )
    narrowed_to = serializers.CharField(
        help_text='The quick filters in words, "big cities in the West" (GET /api/filters); "" for none: '
        "the cities and counts above are of those cities only."
    )


class FilterOptionSerializer(serializers.Serializer):
    value = serializers.CharField(help_text='What to send to choose it, e.g. "us-west" or "big"')
    label = serializers.CharField(help_text='For people, e.g. "West"')
    cities = serializers.IntegerField(help_text="How many cities it keeps, together with the other filters")


class FiltersOutSerializer(serializers.Serializer):
    region = serializers.CharField(help_text='The region chosen, "" for anywhere')
    size = serializers.CharField(help_text='The size chosen, "" for any size')
    state = serializers.CharField(help_text='The US state chosen ("CO"), within the region; "" for any')
    cities = serializers.IntegerField(help_text="How many of the collection's cities the filters keep")
    described = serializers.CharField(help_text='The filters in words, "big cities in the West"; "" for none')
    regions = FilterOptionSerializer(many=True)
    sizes = FilterOptionSerializer(many=True)
    states = FilterOptionSerializer(many=True, help_text="The chosen US region's states; none before a region")


class FiltersInSerializer(serializers.Serializer):
    region = serializers.ChoiceField(
        [("", "Anywhere"), *places.REGION_LABELS.items()], required=False, help_text='"" for anywhere'
    )
    size = serializers.ChoiceField(
        [("", "Any size"), *places.SIZE_LABELS.items()], required=False, help_text='"" for any size'
    )
    state = serializers.ChoiceField(
        [("", "Any state"), *places.US_STATES.items()],
        required=False,
        help_text='A US state ("CO"): it picks its region; "" for any',
    )


def filters_payload(filters: Filters) -> dict:
    def choices(options: list[places.Option]) -> list[dict]:
        return [{"value": o.value, "label": o.label, "cities": o.cities} for o in options]

    return {
        "region": filters.region,
        "size": filters.size,
        "state": filters.state,
        "cities": filters.cities,
        "described": filters.described,
        "regions": choices(filters.regions),
        "sizes": choices(filters.sizes),
        "states": choices(filters.states),
    }


class ResetOutSerializer(serializers.Serializer):
    retracted = serializers.IntegerField()
    swipe_count = serializers.IntegerField()


class NextQuerySerializer(serializers.Serializer):
    n = serializers.IntegerField(min_value=1, max_value=MAX_NEXT, default=5, help_text="How many photos")
    showing = serializers.IntegerField(
        min_value=1,
        max_value=MAX_PHOTO_ID,
        required=False,
        help_text="The photo the page already shows next: the next photos follow it.",
    )


class ResultsQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_RESULTS, default=10, help_text="How many cities")


def ranked_payload(ranked: list[RankedCity]) -> list[dict]:
    return [
        {
            "rank": rank,
            **city_fields(item.city),
            "score": round(item.score, 6),
            "match": round(item.match, 4),
            "match_spread": round(item.spread, 4),
            "kind_probability": round(item.kind_probability, 4),
            "liked": item.liked,
            "seen": item.seen,
            "seen_own": item.seen_own,
        }
        for rank, item in enumerate(ranked, start=1)
    ]


def confidence_payload(confidence: Confidence | None) -> dict | None:
    if confidence is None:
        return None
    return {
        "leader": city_fields(confidence.leader),
        "runner_up": city_fields(confidence.runner_up),
        "leader_share": round(confidence.kind_probability, 4),
        "level_with_leader": [city_fields(item.city) for item in confidence.level],
        "level_count": confidence.level_count,
        "swipes_to_settle": 0 if confidence.settled else None,
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
        showing = query_int(request, "showing", default=0, low=1, high=MAX_PHOTO_ID)
        photos = next_photos_for(current_swiper(request), n=n, showing=showing or None)
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
        reading = taste_of(swiper)  # one reading of the log for the top cities and the next photos
        body = {
            "recorded": outcome.created,
            "photo": outcome.swipe.photo_id,
            "liked": outcome.swipe.liked,
            "swipe_count": swiper.swipe_count,
            "top_cities": ranked_payload(leading_cities(swiper, limit=3, reading=reading)),
        }
        if swipe["next"]:
            photos = next_photos_for(
                swiper, n=swipe["next"], reading=reading, showing=swipe.get("showing"), after_swipe=outcome.created
            )
            body["next_photos"] = [photo_payload(request, p) for p in photos]
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
                "top_cities": ranked_payload(leading_cities(swiper, limit=3)),
            }
        )


class ResultsView(SwipeAPIView):
    @extend_schema(
        summary="The cities that match this swiper's taste, best first",
        parameters=[ResultsQuerySerializer],
        responses={200: ResultsOutSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
    )
    def get(self, request):
        limit = query_int(request, "limit", default=10, low=1, high=MAX_RESULTS)
        swiper = current_swiper(request)
        reading = taste_of(swiper)
        ranked = rank_cities_for(swiper, limit=limit, reading=reading)
        summary = summary_of(swiper, reading)
        return Response(
            {
                "swipe_count": swiper.swipe_count if swiper else 0,
                "rule": current_rule(),
                "cities": ranked_payload(ranked),
                "confidence": confidence_payload(confidence_from(ranked, summary, reading)),
                "state": summary.state,
                "taste_words": {"likes": summary.words_liked, "passes": summary.words_passed},
                "not_shown": summary.not_shown,
                "photos_left": summary.deck_left,
                "narrowed_to": summary.narrowed_to,
            }
        )


class ResetView(SwipeAPIView):
    @extend_schema(summary="Start over", request=None, responses={200: ResetOutSerializer, 429: ErrorSerializer})
    def post(self, request):
        swiper = current_swiper(request)
        retracted = services.reset_swipes(swiper=swiper) if swiper else 0
        return Response({"retracted": retracted, "swipe_count": 0})


class FiltersView(SwipeAPIView):
    @extend_schema(
        summary="The quick filters: where and how big the cities to swipe and rank are",
        responses={200: FiltersOutSerializer, 429: ErrorSerializer},
    )
    def get(self, request):
        return Response(filters_payload(filters_of(current_swiper(request))))

    @extend_schema(
        summary="Keep the deck and the ranking to a region (or a US state) and a city size",
        description='A field left out keeps its value; "" clears it. A state picks its region; another region '
        "drops the state. The swipes already made all still count. 409 when the choices together keep none "
        "of the collection's cities (the choices say how many each keeps), a state outside the region sent "
        "with it among them.",
        request=FiltersInSerializer,
        responses={200: FiltersOutSerializer, 400: ErrorSerializer, 409: ErrorSerializer, 429: ErrorSerializer},
    )
    def put(self, request):
        incoming = FiltersInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        swiper = current_swiper(request, create=True)
        filters = services.set_filters(swiper=swiper, **incoming.validated_data)
        return Response(filters_payload(filters))
