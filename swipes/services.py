"""Writes for the swipe loop. Every score change happens here, under a row lock on the swiper."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import checks
from django.db import transaction
from django.utils import timezone

from photos.models import Photo
from swipes import scoring
from swipes.models import Swipe, UserSwipeData
from swipes.selectors import live_swipes, swipe_contribution_for

SESSION_KEY = "cityvibes_swiper"


class SwipeError(Exception):
    """A swipe request that cannot be carried out; str(error) says why."""

    status = 400


class PhotoNotAvailable(SwipeError):
    pass


class AlreadySwiped(SwipeError):
    status = 409


class NothingToUndo(SwipeError):
    status = 409


@dataclass(frozen=True)
class SwipeOutcome:
    swipe: Swipe
    created: bool  # False when the same swipe was already recorded (an idempotent repeat)


def current_rule() -> str:
    rule = settings.CITYVIBES_SCORING_RULE
    if rule not in scoring.RULES:
        raise ValueError(f"CITYVIBES_SCORING_RULE={rule!r} is not one of {', '.join(scoring.RULES)}")
    return rule


@checks.register()
def check_scoring_rule(app_configs=None, **kwargs) -> list[checks.Error]:
    """`manage.py check` (and migrate, runserver) refuse an unknown rule instead of a 500 per swipe."""
    try:
        current_rule()
    except ValueError as error:
        return [checks.Error(str(error), id="cityvibes.E003")]
    return []


def swiper_for_request(request, *, create: bool) -> UserSwipeData | None:
    """The swipe data of this browser: the logged-in user's, else the anonymous session's."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        data = UserSwipeData.objects.filter(user=user).first()
        if data is None and create:
            data = adopt_or_create_for_user(user=user, anon_token=request.session.get(SESSION_KEY))
        return data
    token = request.session.get(SESSION_KEY)
    if token:
        data = UserSwipeData.objects.filter(anon_token=token, user__isnull=True).first()
        if data is not None:
            return data
    if not create:
        return None
    data = UserSwipeData.objects.create(anon_token=uuid.uuid4())
    request.session[SESSION_KEY] = str(data.anon_token)
    return data


@transaction.atomic
def adopt_or_create_for_user(*, user: AbstractBaseUser, anon_token: str | None) -> UserSwipeData:
    """On login: a user without swipe data takes over the anonymous session's swipes."""
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


def _locked(user_data: UserSwipeData) -> UserSwipeData:
    return UserSwipeData.objects.select_for_update().get(pk=user_data.pk)


@transaction.atomic
def record_swipe(*, user_data: UserSwipeData, photo_id: int, liked: bool) -> SwipeOutcome:
    """Log a like/dislike and add its contribution to the swiper's scores.

    The swiper's row is locked for the whole transaction, so concurrent swipes (two tabs)
    apply one after the other. Repeating the same swipe changes nothing.
    """
    locked = _locked(user_data)
    # Not the version's metrics: two K x K confusion matrices (megabytes of JSON for 1,000 cities)
    # that scoring never reads; loading them made each swipe's cost grow with the square of K.
    servable = Photo.objects.servable().select_related("model_version").defer("model_version__metrics")
    photo = servable.filter(pk=photo_id).first()
    if photo is None:
        raise PhotoNotAvailable(f"photo {photo_id} does not exist or is not available for swiping")
    previous = live_swipes(locked).filter(photo=photo).first()
    if previous is not None:
        if previous.liked != liked:
            raise AlreadySwiped(f"photo {photo_id} was already {'liked' if previous.liked else 'noped'}; undo first")
        _refresh(user_data, locked)
        return SwipeOutcome(previous, created=False)
    rule = current_rule()
    contribution = swipe_contribution_for(photo, liked, rule=rule)
    swipe = Swipe.objects.create(user_data=locked, photo=photo, liked=liked, contribution=contribution, rule=rule)
    locked.scores = scoring.add_contribution(locked.scores, contribution)
    locked.swipe_count += 1
    locked.queue_position = max(locked.queue_position, photo.queue_position)
    locked.save(update_fields=["scores", "swipe_count", "queue_position", "updated"])
    _refresh(user_data, locked)
    return SwipeOutcome(swipe, created=True)


@transaction.atomic
def undo_last_swipe(*, user_data: UserSwipeData) -> Swipe:
    """Retract the swiper's latest live swipe; scores become exactly the replay of what remains."""
    locked = _locked(user_data)
    last = live_swipes(locked).order_by("-id").select_related("photo").first()
    if last is None:
        raise NothingToUndo("there is no swipe to undo")
    last.retracted_at = timezone.now()
    last.retraction = Swipe.Retraction.UNDO
    last.save(update_fields=["retracted_at", "retraction"])
    remaining = list(live_swipes(locked).order_by("id").values_list("contribution", flat=True))
    locked.scores = scoring.replay(remaining)
    locked.swipe_count = len(remaining)
    # Step back so the undone photo is served again next.
    locked.queue_position = min(locked.queue_position, last.photo.queue_position - 1)
    locked.save(update_fields=["scores", "swipe_count", "queue_position", "updated"])
    _refresh(user_data, locked)
    return last


@transaction.atomic
def reset_swipes(*, user_data: UserSwipeData) -> int:
    """Start over: retract every live swipe (the log keeps them) and zero the scores. Returns how many."""
    locked = _locked(user_data)
    count = live_swipes(locked).update(retracted_at=timezone.now(), retraction=Swipe.Retraction.RESET)
    locked.scores = {}
    locked.swipe_count = 0
    locked.queue_position = -1
    locked.save(update_fields=["scores", "swipe_count", "queue_position", "updated"])
    _refresh(user_data, locked)
    return count


@dataclass(frozen=True)
class Drift:
    user_data_id: int
    cities: list[str]
    stored_count: int
    log_count: int


def recompute_scores(*, fix: bool, rescore: bool = False) -> tuple[int, list[Drift]]:
    """Rebuild every swiper's scores from the swipe log; report (and with fix=True repair) any drift.

    rescore=True first recomputes each live swipe's contribution from the photos' current
    vectors and the current rule (e.g. after a new model predicted the photos).
    Returns (swipers checked, drifts found).
    """
    drifts: list[Drift] = []
    checked = 0
    for pk in UserSwipeData.objects.order_by("pk").values_list("pk", flat=True).iterator():
        with transaction.atomic():
            locked = UserSwipeData.objects.select_for_update().get(pk=pk)
            swipes = list(
                live_swipes(locked)
                .order_by("id")
                .select_related("photo__model_version")
                .defer("photo__model_version__metrics")  # unused here, and K x K numbers per swipe
            )
            if rescore and fix:
                rule = current_rule()
                for swipe in swipes:
                    if swipe.photo.probabilities is None and swipe.photo.city_id is None:
                        continue  # no vector any more: keep what the swipe added at the time
                    swipe.contribution = swipe_contribution_for(swipe.photo, swipe.liked, rule=rule)
                    swipe.rule = rule
                    swipe.save(update_fields=["contribution", "rule"])
            expected = scoring.replay(s.contribution for s in swipes)
            differing = scoring.scores_differ(locked.scores, expected)
            checked += 1
            if differing or locked.swipe_count != len(swipes):
                drifts.append(Drift(pk, differing, locked.swipe_count, len(swipes)))
                if fix:
                    locked.scores = expected
                    locked.swipe_count = len(swipes)
                    locked.save(update_fields=["scores", "swipe_count", "updated"])
    return checked, drifts


def _refresh(target: UserSwipeData, source: UserSwipeData) -> None:
    target.scores = source.scores
    target.swipe_count = source.swipe_count
    target.queue_position = source.queue_position
