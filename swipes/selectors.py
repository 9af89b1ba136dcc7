"""Reads for the swipe loop: photo vectors, what a swipe adds, the next photos, a person's taste.

A person's taste is read from their swipe log at every request (swipes/taste.py: an exact posterior
over kinds of place), so it is never stale and follows the collection as it changes.
"""

import secrets
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core import checks
from django.db.models import Exists, OuterRef, QuerySet

from photos import places
from photos.models import City, Photo
from photos.serializers import CARD_FIELDS
from swipes import taste, words
from swipes.collection import Collection, current_collection
from swipes.models import Swipe, UserSwipeData
from swipes.vectors import CityVector

RULES = ("taste", "sum")
PHOTO_ORDERS = ("smart", "queue")


def live_swipes(swiper: UserSwipeData | int) -> QuerySet[Swipe]:
    """The swiper's swipes that count (not undone or reset); the swiper or its id."""
    return Swipe.objects.filter(user_data=swiper, retracted_at__isnull=True)


def swipe_photo(photo_id: int, *, servable: bool = False) -> Photo | None:
    """The photo with only what a swipe needs: its label, vector, queue position and model's city order."""
    photos = Photo.objects.servable() if servable else Photo.objects.all()
    fields = ("id", "city_id", "probabilities", "queue_position", "model_version__cities")
    return photos.select_related("model_version").only(*fields).filter(pk=photo_id).first()


def photo_vector(photo: Photo) -> CityVector | None:
    """How much the photo looks like each city.

    Predicted photos use their model's probabilities; labelled, unpredicted photos count as a
    one-hot vector of their label; anything else has no vector and is not served.
    """
    version = photo.model_version
    if photo.probabilities is not None and version is not None and len(version.cities) == len(photo.probabilities):
        return CityVector.of([int(c) for c in version.cities], photo.probabilities)
    if photo.city_id is not None:
        return CityVector.of([photo.city_id], [1.0])
    return None


def contribution_for(photo: Photo, liked: bool) -> CityVector | None:
    """What swiping this photo adds to the stored per-city scores (the design card's rule: a like adds
    the photo's vector, a nope subtracts it); None when the photo has no vector."""
    vector = photo_vector(photo)
    if vector is None:
        return None
    return vector if liked else CityVector(vector.cities, -vector.values)


def current_rule() -> str:
    """How cities are ranked: "taste" (the taste model) or "sum" (the stored scores of the design card)."""
    rule = settings.CITYVIBES_SCORING_RULE
    if rule not in RULES:
        raise ValueError(f"CITYVIBES_SCORING_RULE={rule!r} is not one of {', '.join(RULES)}")
    return rule


def current_photo_order() -> str:
    order = settings.CITYVIBES_PHOTO_ORDER
    if order not in PHOTO_ORDERS:
        raise ValueError(f"CITYVIBES_PHOTO_ORDER={order!r} is not one of {', '.join(PHOTO_ORDERS)}")
    return order


@checks.register()
def check_rule_and_order(app_configs=None, **kwargs) -> list[checks.Error]:
    """`manage.py check` (and migrate, runserver) refuse an unknown rule or order instead of a 500 per request."""
    errors = []
    for read, code in ((current_rule, "cityvibes.E003"), (current_photo_order, "cityvibes.E002")):
        try:
            read()
        except ValueError as error:
            errors.append(checks.Error(str(error), id=code))
    return errors


# ---------------------------------------------------------------- a person's taste


@dataclass
class Taste:
    """What one swiper's live swipes say, under this process's collection."""

    collection: Collection
    swipes: list[tuple[int, bool]]  # (photo id, liked), in log order
    history: list[tuple[int, bool]]  # (model row, liked), the photos the model holds
    post: np.ndarray | None = None
    ranking: taste.CityRanking | None = None
    state: taste.TasteState | None = None
    filters: "Filters | None" = None  # the quick filters, when one is on: the deck and the ranking keep to them

    @property
    def likes(self) -> int:
        return sum(liked for _, liked in self.swipes)

    @property
    def cities(self) -> np.ndarray | None:
        """(K,) bool: the cities the quick filters keep; None when no filter is on."""
        return self.filters.kept if self.filters is not None else None

    @property
    def narrowed_to(self) -> str:
        """The quick filters in words, "big cities in the West"; "" when none is on."""
        return self.filters.described if self.filters is not None else ""


def taste_of(swiper: UserSwipeData | None) -> Taste:
    """Read the swiper's taste from their log (None: someone who has not swiped)."""
    collection = current_collection()
    swipes = list(live_swipes(swiper).order_by("id").values_list("photo_id", "liked")) if swiper else []
    reading = Taste(collection, swipes, collection.history(swipes), filters=_filters_on(swiper, collection))
    model = collection.model
    if model is not None:
        reading.post = taste.posterior(model, reading.history)
        if reading.cities is not None:
            reading.post = taste.within(model, reading.post, reading.cities)
        reading.ranking = taste.rank_cities(model, reading.history, reading.post)
        reading.state = taste.taste_state(model, reading.history, reading.post, reading.ranking)
    return reading


def _collection_places(collection: Collection) -> tuple[dict[int, places.Place], set[str]]:
    """Each of the collection's cities' region and size (photos/places.py), and their countries."""
    cities = City.objects.filter(pk__in=[int(c) for c in collection.city_ids]).only(
        "id", "name", "country", "region", "population", "aliases"
    )
    found, countries = {}, set()
    for city in cities:
        found[city.pk] = places.place_of(city)
        countries.add(city.country)
    return found, countries


@dataclass
class Filters:
    """The quick filters a swiper has on, the choices among the collection's cities, and the cities the
    filters keep."""

    region: str
    size: str
    regions: list[places.Option]
    sizes: list[places.Option]
    described: str
    total: int  # the collection's cities
    kept: np.ndarray  # (K,) bool over the collection's city columns: the cities the filters keep
    kept_ids: list[int]  # their ids
    state: str = ""
    states: list[places.Option] = field(default_factory=list)  # the chosen US region's states

    @property
    def cities(self) -> int:
        return len(self.kept_ids)

    @property
    def offered(self) -> bool:
        """Worth showing: there is a choice to make, or one is on."""
        return len(self.regions) > 1 or len(self.sizes) > 1 or bool(self.region or self.size)  # a state has a region


def filters_of(swiper: UserSwipeData | None, collection: Collection | None = None) -> Filters:
    """The swiper's quick filters and the choices beside them (None: a visitor who has not swiped)."""
    if swiper is None:
        return filter_choices("", "", collection)
    return filter_choices(swiper.only_region, swiper.only_size, collection, state=swiper.only_state)


def filter_choices(region: str, size: str, collection: Collection | None = None, *, state: str = "") -> Filters:
    """What these quick filters would keep of the collection's cities, and the choices beside them."""
    collection = collection or current_collection()
    found, countries = _collection_places(collection)
    regions, states, sizes = places.options(found, countries, region=region, size=size, state=state)
    ids = [int(pk) for pk in collection.city_ids]
    wanted = {"region": region, "size": size, "state": state}
    kept = np.array([pk in found and places.keeps(found[pk], **wanted) for pk in ids], dtype=bool)
    described = places.describe(**wanted, only_us=countries == {"US"})
    kept_ids = [pk for pk, keep in zip(ids, kept) if keep]
    return Filters(region, size, regions, sizes, described, len(found), kept, kept_ids, state, states)


def _filters_on(swiper: UserSwipeData | None, collection: Collection) -> Filters | None:
    """The swiper's quick filters when one is on; None (without reading the cities) when none is."""
    if swiper is None or not (swiper.only_region or swiper.only_size):  # a state comes with its region
        return None
    return filters_of(swiper, collection)


# ---------------------------------------------------------------- the next photos


def next_photos_for(
    swiper: UserSwipeData | None,
    *,
    n: int,
    reading: Taste | None = None,
    showing: int | None = None,
    after_swipe: bool = False,
) -> list[Photo]:
    """The next n photos for this swiper (None: a visitor who has not swiped), never one already
    swiped, in the configured order (CITYVIBES_PHOTO_ORDER). Right after an undo, the undone photo
    comes first. `showing`: a photo the page already shows next (chosen before the last swipe), which
    the photos after it follow and never repeat. after_swipe: the swiper's last action was a new swipe, so
    there is no undone photo to look for. Only the columns a card shows are read."""
    undone = _photo_just_undone(swiper) if swiper is not None and not after_swipe else None
    if current_photo_order() == "smart":
        reading = reading or taste_of(swiper)
        chosen = _most_telling_photos(swiper, n=n, reading=reading, first=undone, showing=showing)
    else:
        filters = reading.filters if reading is not None else _filters_on(swiper, current_collection())
        chosen = [p.pk for p in _queued_photos(swiper, n=n, filters=filters)]
        chosen = ([undone] if undone else []) + [pk for pk in chosen if pk != undone][: n - bool(undone)]
    cards = Photo.objects.servable().select_related("city").only(*CARD_FIELDS).in_bulk(chosen)
    return [cards[pk] for pk in chosen if pk in cards]


def _queued_photos(swiper: UserSwipeData | None, *, n: int, filters: Filters | None) -> list[Photo]:
    """The next n servable photos in queue order after the swiper's position, skipping swiped ones,
    of the quick filters' cities if any.

    Wraps around to the start of the queue, so photos added later are still shown.
    """
    queryset = Photo.objects.servable().only("id", "queue_position").order_by("queue_position")
    if filters is not None:
        queryset = queryset.filter(city__in=filters.kept_ids)
    if swiper is None:
        return list(queryset[:n])
    unswiped = queryset.exclude(Exists(live_swipes(swiper).filter(photo=OuterRef("pk"))))
    ahead = list(unswiped.filter(queue_position__gt=swiper.queue_position)[:n])
    if len(ahead) < n:
        ahead += list(unswiped.filter(queue_position__lte=swiper.queue_position)[: n - len(ahead)])
    return ahead


def _most_telling_photos(
    swiper: UserSwipeData | None, *, n: int, reading: Taste, first: int | None, showing: int | None
) -> list[int]:
    """Photo ids: the taste model's next photos (the most telling ones, the first cards one per kind of place;
    never more than 3 cards of one city among 8 in a row while others remain). Each person gets their own
    first cards: the seed is the swiper's (a new visitor's is random)."""
    collection, model = reading.collection, reading.collection.model
    if model is None:
        return []
    # Cards already on the page, or coming back first, count as shown (for variety and for runs of one
    # city) with their answers unknown: the posterior stays the one read from the real swipes.
    swiped = {row for row, _ in reading.history}
    ahead = [collection.row_of[pk] for pk in (showing, first) if pk in collection.row_of]
    history = reading.history + [(row, False) for row in ahead if row not in swiped]
    seed = swiper.pk * 100_003 + swiper.swipe_count if swiper else secrets.randbelow(2**31)
    rows = taste.next_photos(
        model, history, n - (first is not None), seed=seed, post=reading.post, cities=reading.cities
    )
    return ([first] if first is not None else []) + [int(collection.photo_ids[row]) for row in rows]


def _photo_just_undone(swiper: UserSwipeData) -> int | None:
    """The photo of the swiper's last action, if that action was an undo (the swipe page shows it again)."""
    last = Swipe.objects.filter(user_data=swiper).order_by("-id").values("photo_id", "retraction").first()
    if last is None or last["retraction"] != Swipe.Retraction.UNDO:
        return None
    if live_swipes(swiper).filter(photo_id=last["photo_id"]).exists():
        return None  # swiped again since
    return last["photo_id"]


# ---------------------------------------------------------------- ranked cities


@dataclass
class RankedCity:
    city: City
    score: float  # what the ranking is ordered by: the match (taste rule) or the stored score (sum rule)
    match: float  # the share of the city's photos the person is expected to like, 0..1
    spread: float  # how unsure that share is (posterior standard deviation)
    kind_probability: float  # how likely the city is of the kind of place the person likes, 0..1
    liked: int  # swiped photos of it or its look-alikes that the person liked ...
    seen: int  # ... of how many swiped
    seen_own: int  # swiped photos of the city itself (0: it is ranked from its look-alikes' photos alone)
    pushed_up: list[Photo] = field(default_factory=list)  # liked photos of it or its look-alikes
    pushed_down: list[Photo] = field(default_factory=list)  # noped photos of it or its look-alikes

    @property
    def percent(self) -> int:
        """The match in whole percent, as the pages show it: cities at the same percent are level."""
        return round(100 * self.match)


def rank_cities_for(
    swiper: UserSwipeData | None, *, limit: int = 10, photos_per_city: int = 0, reading: Taste | None = None
) -> list[RankedCity]:
    """The swiper's cities, best first: only cities whose photos (or look-alikes') they have seen."""
    reading = reading or taste_of(swiper)
    if reading.ranking is None or not reading.history:
        return []
    ranking, collection = reading.ranking, reading.collection
    keep = ranking.shown if reading.cities is None else ranking.shown & reading.cities
    shown = ranking.order[keep[ranking.order]]
    if current_rule() == "sum" and swiper is not None:
        stored = swiper.scores.values_for(collection.city_ids)
        shown = shown[np.argsort(-stored[shown], kind="stable")]
    cities = City.objects.in_bulk([int(collection.city_ids[c]) for c in shown[: 2 * limit + 8]])
    ranked = []
    for column in shown:
        city = cities.get(int(collection.city_ids[column]))
        if city is not None:
            ranked.append(_ranked_city(reading, int(column), city, swiper))
        if len(ranked) == limit:
            break
    if photos_per_city:
        _attach_movers(reading, ranked, photos_per_city)
    return ranked


def _ranked_city(reading: Taste, column: int, city: City, swiper: UserSwipeData | None) -> RankedCity:
    ranking = reading.ranking
    match = float(ranking.expected_like[column])
    score = match
    if current_rule() == "sum" and swiper is not None:
        score = float(swiper.scores.values_for(np.array([city.pk]))[0])
    return RankedCity(
        city,
        score,
        match,
        float(ranking.like_sd[column]),
        float(ranking.p_kind[column]),
        int(ranking.liked[column]),
        int(ranking.swiped[column]),
        int(ranking.swiped_own[column]),
    )


def _attach_movers(reading: Taste, ranked: list[RankedCity], n: int) -> None:
    """Per city: the photos of it and of its look-alikes that the person liked, and the ones they passed on,
    those that moved the city's match most first (swipes/taste.py influence)."""
    model, collection = reading.collection.model, reading.collection
    photo_ids = [int(collection.photo_ids[row]) for row, _ in reading.history]
    rows = np.array([row for row, _ in reading.history], dtype=np.intp)
    columns = [collection.column_of[item.city.pk] for item in ranked]
    influences = taste.influence(model, reading.history, columns, reading.post)
    picked: list[tuple[RankedCity, list[int], list[int]]] = []
    for item, column, moved in zip(ranked, columns, influences):
        alike = model.look_alike[column, model.photo_city[rows]]
        order = [i for i in np.argsort(-np.abs(moved), kind="stable") if alike[i]]
        up = [photo_ids[i] for i in order if reading.history[i][1]][:n]
        down = [photo_ids[i] for i in order if not reading.history[i][1]][:n]
        picked.append((item, up, down))
    photos = Photo.objects.select_related("city").in_bulk([pk for _, up, down in picked for pk in up + down])
    for item, up, down in picked:
        item.pushed_up = [photos[pk] for pk in up if pk in photos]
        item.pushed_down = [photos[pk] for pk in down if pk in photos]


def leading_cities(swiper: UserSwipeData | None, *, limit: int = 3, reading: Taste | None = None) -> list[RankedCity]:
    """The few cities the swipe page shows under the deck ("leaning towards"): none before the person
    liked something, nor while they like everything or nothing (the results page says why), only
    cities with at least half the leader's match (not "3. Miami 22 %" after Denver's 88 %), and never
    some of several cities level on the match and not the others (not 3 of 24 cities at 21 %)."""
    reading = reading or taste_of(swiper)
    if reading.state is None or reading.state.label not in ("exploring", "taste found") or not reading.swipes:
        return []
    ranked = rank_cities_for(swiper, limit=limit + 1, reading=reading)
    ranked = [item for item in ranked if item.match >= ranked[0].match / 2]
    if len(ranked) > limit:
        ranked = [item for item in ranked[:limit] if item.percent != ranked[limit].percent]
    return ranked


# ---------------------------------------------------------------- the results as a whole


@dataclass
class Summary:
    """What the results page says about the person's swipes as a whole."""

    state: str  # see summary_of
    swipes: int
    likes: int
    words_liked: list[str]
    words_passed: list[str]
    not_shown: int  # cities whose photos (or look-alikes') the person has not seen yet
    cities: int
    deck_left: bool  # photos left to swipe (of the quick filters' cities, if any)
    narrowed_to: str = ""  # the quick filters in words, "big cities in the West"; "" for none

    @property
    def taste_sentence(self) -> str:
        return words.sentence(self.words_liked, self.words_passed)


def summary_of(swiper: UserSwipeData | None, reading: Taste | None = None) -> Summary:
    """The state of the person's results, one of: "empty" (no swipes yet), "no likes yet", "likes nothing"
    (many nopes, nothing stands out), "likes everything", "exploring", "taste found"."""
    reading = reading or taste_of(swiper)
    collection = reading.collection
    state = reading.state.label if reading.state is not None else "empty"
    if not reading.swipes:
        state = "empty"
    scenes = dict(Photo.objects.filter(pk__in=[pk for pk, _ in reading.swipes]).values_list("pk", "scene"))
    liked, passed = words.taste_words((scenes.get(pk) or [], was_liked) for pk, was_liked in reading.swipes)
    kept = np.ones(len(collection.city_ids), dtype=bool) if reading.cities is None else reading.cities
    shown = int((reading.ranking.shown & kept).sum()) if reading.ranking is not None else 0
    return Summary(
        state=state,
        swipes=len(reading.swipes),
        likes=reading.likes,
        words_liked=liked,
        words_passed=passed,
        not_shown=int(kept.sum()) - shown,
        cities=int(kept.sum()),
        deck_left=_deck_left(swiper, reading),
        narrowed_to=reading.narrowed_to,
    )


def _deck_left(swiper: UserSwipeData | None, reading: Taste) -> bool:
    if reading.filters is None or swiper is None:
        return len(reading.swipes) < Photo.objects.servable().count()
    unswiped = Photo.objects.servable().exclude(Exists(live_swipes(swiper).filter(photo=OuterRef("pk"))))
    return unswiped.filter(city__in=reading.filters.kept_ids).exists()


@dataclass
class Confidence:
    leader: City
    runner_up: City
    kind_probability: float  # how likely the leader is of the kind of place the person likes (calibrated)
    # The cities level with the leader on the page (the same match in whole percent, the leader first):
    # cities liked alike are named together, not one of them "leading" by the sort order.
    level: list[RankedCity]  # those among the ranked cities
    level_count: int  # all of them, ranked here or not
    shares: tuple[float, float]  # the lowest and the highest kind probability among them

    @property
    def settled(self) -> bool:
        return self.shares[0] >= 0.8

    @property
    def percent(self) -> str:
        """For people: 1..99, never a claim of certainty; "46–54" for cities level with the leader."""
        low, high = (int(min(99, max(1, round(100 * share)))) for share in self.shares)
        return str(low) if low == high else f"{low}–{high}"

    @property
    def names(self) -> str:
        """ "Denver", "Denver and Boulder", "Denver, Boulder, Aspen and 71 more" """
        names = [item.city.name for item in self.level]
        if self.level_count > 4 or self.level_count > len(names):
            names = names[:3] + [f"{self.level_count - len(names[:3])} more"]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def confidence_from(ranked: list[RankedCity], summary: Summary, reading: Taste) -> Confidence | None:
    """How sure the ranking's leader is: only once the person liked something and two cities are shown."""
    if len(ranked) < 2 or summary.state not in ("exploring", "taste found"):
        return None
    level = [item for item in ranked if item.percent == ranked[0].percent]
    # Every shown city level with the leader, listed or not (np.round rounds as RankedCity.percent does).
    ranking = reading.ranking
    kept = ranking.shown if reading.cities is None else ranking.shown & reading.cities
    shares = ranking.p_kind[kept & (np.round(100 * ranking.expected_like) == ranked[0].percent)]
    return Confidence(
        ranked[0].city, ranked[1].city, ranked[0].kind_probability, level, len(shares), (shares.min(), shares.max())
    )
