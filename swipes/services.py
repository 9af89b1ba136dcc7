"""Writes for the swipe loop. Every score change happens here, under a row lock on the swiper.

A swipe, an undo and a reset each run in one transaction that starts by locking the swiper's row
(`select_for_update`). Two tabs of one browser swiping at the same moment therefore take turns: the
second reads the scores the first wrote, and neither overwrites the other. Without the lock both
would read the same scores, add their own swipe, and the later write would lose the earlier swipe.

The swipe log (swipes.models.Swipe) is the source of truth: a swiper's stored per-city scores (the
design card's rule: a like adds the photo's vector, a nope subtracts it) always equal the replay of
their live swipes' contributions, in log order (recompute_scores checks that). The taste the results
show is read from the same log (swipes/selectors.py taste_of), so it needs nothing stored.
"""

from dataclasses import dataclass

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from photos import places
from swipes.models import Contribution, Swipe, UserSwipeData
from swipes.selectors import Filters, contribution_for, filter_choices, live_swipes, swipe_photo
from swipes.vectors import CityVector, replay

SUM = "sum"  # the rule of every stored contribution: a like adds the photo's vector, a nope subtracts it


class SwipeError(Exception):
    """A swipe request that cannot be carried out; str(error) says why, `status` is the HTTP status."""

    status = 400


class PhotoNotAvailable(SwipeError):
    pass


class AlreadySwiped(SwipeError):
    status = 409


class NothingToUndo(SwipeError):
    status = 409


class FilterRefused(SwipeError):
    """An unknown region, size or state."""


class NoCityLeft(SwipeError):
    """Filters that keep none of the collection's cities (as it is now)."""

    status = 409


@dataclass(frozen=True)
class SwipeOutcome:
    swipe: Swipe
    created: bool  # False when the same swipe was already recorded (an idempotent repeat)


def create_anonymous_swiper() -> UserSwipeData:
    """A new swiper for a browser without an account; its anon_token goes into the browser's session."""
    return UserSwipeData.objects.create()


@transaction.atomic
def adopt_or_create_for_user(*, user: AbstractBaseUser, anon_token: str | None) -> UserSwipeData:
    """On sign-up or login: a user without swipe data takes over the anonymous session's swipes."""
    existing = UserSwipeData.objects.select_for_update().filter(user=user).first()
    if existing is not None:
        return existing
    if anon_token:
        anonymous = UserSwipeData.objects.select_for_update().filter(anon_token=anon_token, user__isnull=True).first()
        if anonymous is not None:
            anonymous.user = user
            anonymous.save(update_fields=["user", "updated"])
            return anonymous
    return UserSwipeData.objects.create(user=user)


@transaction.atomic
def record_swipe(*, swiper: UserSwipeData, photo_id: int, liked: bool) -> SwipeOutcome:
    """Log a like (or nope) of a photo and add what it contributes to the swiper's scores.

    Repeating the same swipe changes nothing (created=False). Swiping a photo already swiped the
    other way raises AlreadySwiped (409): undo first. A photo that does not exist or is not servable
    raises PhotoNotAvailable (400). Nothing is written when it raises. `swiper` is updated in place.
    """
    locked = UserSwipeData.objects.select_for_update().get(pk=swiper.pk)
    previous = live_swipes(locked).filter(photo_id=photo_id).first()
    if previous is not None:
        if previous.liked != liked:
            raise AlreadySwiped(f"photo {photo_id} was already {'liked' if previous.liked else 'noped'}; undo first")
        _copy_state(locked, to=swiper)
        return SwipeOutcome(previous, created=False)

    photo = swipe_photo(photo_id, servable=True)
    added = contribution_for(photo, liked) if photo is not None else None
    if added is None:
        raise PhotoNotAvailable(f"photo {photo_id} does not exist or is not available for swiping")
    contribution = _stored(added)
    swipe = Swipe.objects.create(user_data=locked, photo=photo, liked=liked, contribution=contribution, rule=SUM)

    locked.scores = locked.scores.plus(contribution.vector)
    locked.swipe_count += 1
    locked.queue_position = max(locked.queue_position, photo.queue_position)
    locked.save(update_fields=["score_cities", "score_values", "swipe_count", "queue_position", "updated"])
    _copy_state(locked, to=swiper)
    return SwipeOutcome(swipe, created=True)


def _stored(vector: CityVector) -> Contribution:
    """The stored contribution holding exactly this vector, created if no swipe added it before.

    Everyone who likes a photo adds the same vector, so it is stored once and each swipe refers to
    it: the swipe row stays small however many cities there are. Another swiper's transaction may
    store the same vector at the same moment: get_or_create then finds theirs (the digest is unique).
    """
    contribution, _ = Contribution.objects.get_or_create(
        digest=vector.digest(),
        defaults={"vector_cities": vector.cities_bytes(), "vector_values": vector.values_bytes()},
    )
    return contribution


@transaction.atomic
def undo_last_swipe(*, swiper: UserSwipeData) -> Swipe:
    """Retract the swiper's latest live swipe; scores become exactly the replay of what remains."""
    locked = UserSwipeData.objects.select_for_update().get(pk=swiper.pk)
    last = live_swipes(locked).order_by("-id").select_related("photo").first()
    if last is None:
        raise NothingToUndo("there is no swipe to undo")
    last.retracted_at = timezone.now()
    last.retraction = Swipe.Retraction.UNDO
    last.save(update_fields=["retracted_at", "retraction"])

    remaining = live_swipes(locked).order_by("id").select_related("contribution")
    locked.scores = replay(swipe.contribution.vector for swipe in remaining)
    locked.swipe_count = len(remaining)
    # Step back so that the queue order serves the undone photo again next.
    locked.queue_position = min(locked.queue_position, last.photo.queue_position - 1)
    locked.save(update_fields=["score_cities", "score_values", "swipe_count", "queue_position", "updated"])
    _copy_state(locked, to=swiper)
    return last


@transaction.atomic
def reset_swipes(*, swiper: UserSwipeData) -> int:
    """Start over: retract every live swipe (the log keeps them) and zero the scores. Returns how many."""
    locked = UserSwipeData.objects.select_for_update().get(pk=swiper.pk)
    count = live_swipes(locked).update(retracted_at=timezone.now(), retraction=Swipe.Retraction.RESET)
    locked.scores = CityVector.empty()
    locked.swipe_count = 0
    locked.queue_position = -1
    locked.save(update_fields=["score_cities", "score_values", "swipe_count", "queue_position", "updated"])
    _copy_state(locked, to=swiper)
    return count


def _copy_state(source: UserSwipeData, *, to: UserSwipeData) -> None:
    """What the transaction left the swiper at, onto the caller's instance."""
    to.score_cities, to.score_values = source.score_cities, source.score_values
    to.swipe_count, to.queue_position = source.swipe_count, source.queue_position


@dataclass(frozen=True)
class Drift:
    user_data_id: int
    cities: list[int]  # whose stored score differs from the replay
    stored_count: int
    log_count: int


def recompute_scores(*, fix: bool, rescore: bool = False) -> tuple[int, list[Drift]]:
    """Rebuild every swiper's scores from the swipe log; report (and with fix=True repair) any drift.

    rescore=True first recomputes each live swipe's contribution from the photos' current vectors
    (e.g. after a new model predicted the photos; also swipes stored under the retired llr rule).
    Returns (swipers checked, drifts found).
    """
    drifts: list[Drift] = []
    checked = 0
    for pk in UserSwipeData.objects.order_by("pk").values_list("pk", flat=True).iterator():
        drift = _recompute_one(pk, fix=fix, rescore=rescore)
        checked += 1
        if drift is not None:
            drifts.append(drift)
    return checked, drifts


@transaction.atomic
def _recompute_one(pk: int, *, fix: bool, rescore: bool) -> Drift | None:
    locked = UserSwipeData.objects.select_for_update().get(pk=pk)
    swipes = list(live_swipes(locked).order_by("id").select_related("contribution"))
    if rescore and fix:
        for swipe in swipes:
            contribution = contribution_for(swipe_photo(swipe.photo_id), swipe.liked)
            if contribution is None:
                continue  # no vector any more: keep what the swipe added at the time
            swipe.contribution = _stored(contribution)
            swipe.rule = SUM
            swipe.save(update_fields=["contribution", "rule"])
    expected = replay(swipe.contribution.vector for swipe in swipes)
    stored = locked.scores
    cities = np.union1d(stored.cities, expected.cities)
    differing = cities[stored.values_for(cities) != expected.values_for(cities)].tolist()
    drift = Drift(pk, differing, locked.swipe_count, len(swipes))
    if not differing and drift.stored_count == drift.log_count:
        return None
    if fix:
        locked.scores = expected
        locked.swipe_count = len(swipes)
        locked.save(update_fields=["score_cities", "score_values", "swipe_count", "updated"])
    return drift


def set_filters(
    *, swiper: UserSwipeData, region: str | None = None, size: str | None = None, state: str | None = None
) -> Filters:
    """Keep the swiper's deck and ranking to the cities in `region` (or US `state`) of `size`
    (photos/places.py keys; "" means any, None keeps the current choice). A state picks its own region;
    another region, or "Anywhere", drops the state. Refused, with nothing written: FilterRefused (400)
    for an unknown region, size or state; NoCityLeft (409) for choices that keep none of the
    collection's cities, a state outside the region sent with it among them. The swipes themselves are untouched:
    clearing the filters brings every city back, with everything swiped so far counted. Returns the
    filters now on, with the choices beside them."""
    known = {"region": places.REGION_LABELS, "size": places.SIZE_LABELS, "state": places.US_STATES}
    for (what, choices), value in zip(known.items(), (region, size, state)):
        if value and value not in choices:
            raise FilterRefused(f'unknown {what} "{value}": use one of {", ".join(choices)}, or "" for any')
    if state:
        home = places.US_REGION_OF_STATE[state]
        if region and region != home:  # valid choices that keep no city together
            home_words, other_words = (places.in_region(r, only_us=True) for r in (home, region))
            raise NoCityLeft(f"{places.US_STATES[state]} is {home_words}, not {other_words}")
        region = home
    region = swiper.only_region if region is None else region
    size = swiper.only_size if size is None else size
    state = swiper.only_state if state is None else state
    if state and places.US_REGION_OF_STATE[state] != region:
        state = ""
    choices = filter_choices(region, size, state=state)
    if choices.cities == 0:
        raise NoCityLeft(f"none of the collection's cities are {choices.described}: choose another")
    swiper.only_region, swiper.only_size, swiper.only_state = region, size, state
    swiper.save(update_fields=["only_region", "only_size", "only_state", "updated"])
    return choices
