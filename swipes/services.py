"""Writes for the swipe loop. Every score change happens here, under a row lock on the swiper."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import checks
from django.db import connection, transaction
from django.utils import timezone

from photos.models import SERVABLE_SQL, Photo
from swipes import score_vectors, scoring
from swipes.models import Contribution, Swipe, UserSwipeData
from swipes.score_vectors import CONTRIBUTION_DTYPE, SCORE_DTYPE, CityVector
from swipes.selectors import contribution_vector_for, live_swipes, swipe_contribution_for

SESSION_KEY = "cityvibes_swiper"
SESSION_SAVED_EARLY = "_cityvibes_session_saved_early"  # request attribute: a new session already stored
SCORE_FIELDS = ("score_cities", "score_values")


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
    swipe_count: int  # the swiper's, after the swipe
    scores: CityVector  # the swiper's, after the swipe
    queue_position: int


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
    # The session is stored before the swiper and its first swipe: if the database goes away after
    # the swipe commits, the 503 still carries the session cookie, so the browser's retry finds this
    # swiper instead of leaving it orphaned with one swipe. Stored once: SessionMiddleware need not
    # store it again, and swipes/middleware.py sends its cookie with whatever the response is.
    token = uuid.uuid4()
    request.session[SESSION_KEY] = str(token)
    request.session.save()
    request.session.modified = False
    setattr(getattr(request, "_request", request), SESSION_SAVED_EARLY, True)  # the HttpRequest under DRF's
    return UserSwipeData.objects.create(anon_token=token)


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


def _save_state(locked: UserSwipeData, fields: list[str]) -> None:
    """Store these fields of a swiper whose row this transaction holds locked, one revision on."""
    locked.revision += 1
    locked.save(update_fields=[*fields, "revision", "updated"])


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _for_update() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def _rounded(contribution: CityVector) -> CityVector:
    """As stored (CONTRIBUTION_DTYPE), so the running total adds exactly what a replay of the log adds."""
    # copy=False: with float64 storage (today) this is the same array, no per-swipe copies.
    stored = contribution.values.astype(CONTRIBUTION_DTYPE, copy=False).astype(np.float64, copy=False)
    return CityVector(contribution.cities, stored)


def _contribution(photo_id: int, liked: bool, *, rule: str) -> tuple[CityVector, int]:
    """What the swipe adds, and the photo's queue position.

    From the process's photo matrix; else (a photo newer than the matrix) from the photo's row.
    """
    known = contribution_vector_for(photo_id, liked, rule=rule)
    if known is not None:
        vector, position = known
    else:
        servable = Photo.objects.servable().select_related("model_version").defer("model_version__metrics")
        photo = servable.filter(pk=photo_id).first()
        if photo is None:
            raise PhotoNotAvailable(f"photo {photo_id} does not exist or is not available for swiping")
        vector, position = CityVector.from_dict(swipe_contribution_for(photo, liked, rule=rule)), photo.queue_position
    return _rounded(vector), position


def stored_contribution(vector: CityVector) -> Contribution:
    """The stored contribution with exactly this vector (created if new), with its pk and digest."""
    contribution = Contribution.unsaved(vector)
    _store([contribution])
    return contribution


def _store(contributions: list[Contribution]) -> None:
    """Store these unsaved contributions, but none whose digest is stored already; set every pk.

    Safe against another process storing the same vector at the same moment (the digest is unique).
    """
    unique = list({c.digest: c for c in contributions}.values())
    ids: dict[bytes, int] = {}
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        Contribution.objects.bulk_create(chunk, ignore_conflicts=True)
        found = Contribution.objects.filter(digest__in=[c.digest for c in chunk]).values_list("digest", "id")
        ids.update((bytes(digest), pk) for digest, pk in found)
    for contribution in contributions:
        contribution.pk = ids[contribution.digest]


def prepare_contributions(photo_ids: Iterable[int]) -> dict[tuple[int, bool], Contribution]:
    """Store now, in bulk, what a like and a dislike of each photo add under the current rule.

    The first swipe of a photo would store it anyway; this is for filling a database the way it is
    once every photo has been swiped by someone (benchmarks). Returns {(photo id, liked): stored}.
    """
    rule = current_rule()
    wanted = {
        (int(pk), liked): Contribution.unsaved(_contribution(pk, liked, rule=rule)[0])
        for pk in photo_ids
        for liked in (True, False)
    }
    _store(list(wanted.values()))
    return wanted


def _take_outcome(swiper: UserSwipeData, outcome: SwipeOutcome) -> UserSwipeData:
    """Set the swiper's fields a swipe changes to what the swipe left them at."""
    swiper.score_vector = outcome.scores
    swiper.swipe_count = outcome.swipe_count
    swiper.queue_position = outcome.queue_position
    return swiper


def swiper_after(outcome: SwipeOutcome) -> UserSwipeData:
    """The swiper's state right after this swipe, from the outcome (no database read); not for saving."""
    return _take_outcome(UserSwipeData(pk=outcome.swipe.user_data_id), outcome)


def record_swipe(*, user_data: UserSwipeData, photo_id: int, liked: bool) -> SwipeOutcome:
    """Log a like/dislike and add its contribution to the swiper's scores (see swipe_as)."""
    outcome = swipe_as(("id", user_data.pk), photo_id=photo_id, liked=liked)
    if outcome is None:
        raise UserSwipeData.DoesNotExist(f"swiper {user_data.pk} no longer exists")
    _take_outcome(user_data, outcome)
    return outcome


def swipe_for_request(request, *, photo_id: int, liked: bool) -> SwipeOutcome:
    """The swipe API's write: finds and locks this browser's swiper in the same query (no lookup first)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        outcome = swipe_as(("user_id", user.pk), photo_id=photo_id, liked=liked)
    else:
        token = request.session.get(SESSION_KEY)
        outcome = swipe_as(("anon_token", token), photo_id=photo_id, liked=liked) if token else None
    if outcome is None:  # first swipe of this browser (or its swiper was deleted)
        swiper = swiper_for_request(request, create=True)
        outcome = swipe_as(("id", swiper.pk), photo_id=photo_id, liked=liked)
    return outcome


def _read_swiper(cursor, sql: str, value) -> tuple | None:
    """The swiper's row as an optimistic swipe reads it, without a lock (tests interleave writes after it)."""
    cursor.execute(sql, [value])
    return cursor.fetchone()


def swipe_as(swiper: tuple[str, object], *, photo_id: int, liked: bool) -> SwipeOutcome | None:
    """Log a like/dislike for the swiper (column, value) and add its contribution to their scores.

    None when no such swiper exists. The hot path of the app, so a few plain SQL statements rather
    than ORM queries: the swipe is inserted only if the photo is still servable and not already
    swiped (the partial unique index decides), and the scores are written from what the row held
    under its lock or, optimistically, at the revision read (so concurrent swipes from two tabs
    apply one after the other). Repeating the same swipe changes nothing.
    The contribution comes from the per-process photo matrix, computed before the transaction; the
    swipe row refers to it as a stored Contribution, written by the first swipe that adds it.
    """
    rule = current_rule()
    contribution, photo_position = _contribution(photo_id, liked, rule=rule)
    column, value = swiper
    where = {"id": "id = %s", "user_id": "user_id = %s", "anon_token": "anon_token = %s AND user_id IS NULL"}[column]
    if column == "anon_token":
        try:
            value = UserSwipeData._meta.get_field("anon_token").get_db_prep_value(uuid.UUID(str(value)), connection)
        except ValueError:
            return None
    stored = Contribution.unsaved(contribution)
    swipers, swipes, photos, contributions = _table(UserSwipeData), _table(Swipe), _table(Photo), _table(Contribution)
    returning = connection.features.can_return_columns_from_insert
    columns = "id, score_cities, score_values, swipe_count, queue_position"
    lock = f"SELECT {columns} FROM {swipers} WHERE {where}{_for_update()}"

    def insert_sql(swiper_sql: str, source: str) -> str:
        # Only a servable photo. The contribution is found by its digest: only a vector never swiped
        # before is not there yet.
        return (
            f"INSERT INTO {swipes} (user_data_id, photo_id, liked, contribution_id, rule, created, retracted_at,"
            f" retraction) SELECT {swiper_sql}, p.id, %s, c.id, %s, %s, NULL, '' FROM {source}{photos} p,"
            f" {contributions} c WHERE p.id = %s AND {SERVABLE_SQL} AND c.digest = %s ON CONFLICT DO NOTHING"
        )

    def insert_params(now) -> list:
        return [liked, rule, connection.ops.adapt_datetimefield_value(now), photo_id, stored.digest]

    def insert(cursor, swiper_id: int, now) -> tuple[int, int] | None:
        cursor.execute(
            insert_sql("%s", "") + (" RETURNING id, contribution_id" if returning else ""),
            [swiper_id, *insert_params(now)],
        )
        if returning:
            return cursor.fetchone()
        if cursor.rowcount != 1:
            return None
        return cursor.lastrowid, Swipe.objects.values_list("contribution_id", flat=True).get(pk=cursor.lastrowid)

    def lock_and_insert(cursor, now) -> tuple[tuple, tuple[int, int] | None] | None:
        """(the swiper's row, (swipe id, contribution id) or None if nothing was inserted); None: no swiper."""
        if connection.vendor != "postgresql":
            cursor.execute(lock, [value])
            row = cursor.fetchone()
            return None if row is None else (row, insert(cursor, row[0], now))
        # One round trip: the INSERT reads the swiper's id from the locking SELECT, so it runs only
        # once the lock is held (as if they were two statements) and inserts nothing without a swiper.
        cursor.execute(
            f"WITH s AS ({lock}), i AS ({insert_sql('s.id', 's, ')} RETURNING id, contribution_id)"
            " SELECT s.*, i.id, i.contribution_id FROM s LEFT JOIN i ON true",
            [value, *insert_params(now)],
        )
        row = cursor.fetchone()
        return None if row is None else (row[:5], row[5:] if row[5] is not None else None)

    def update_sql(scores: CityVector, scores_before: CityVector, count: int, position: int, now) -> tuple[str, list]:
        """The swiper's row after the swipe, one revision on (needs the swiper's id as a last parameter)."""
        # Only the values when the cities are the same: PostgreSQL then keeps the stored city ids as they are.
        cities_changed = not scores.same_cities(scores_before)
        sql = (
            f"UPDATE {swipers} SET"
            + (" score_cities = %s," if cities_changed else "")
            + " score_values = %s, swipe_count = %s, queue_position = %s, updated = %s, revision = revision + 1"
            " WHERE id = %s"
        )
        params = [
            *([scores.cities_bytes()] if cities_changed else []),
            scores.values_bytes(SCORE_DTYPE),
            count,
            position,
            connection.ops.adapt_datetimefield_value(now),
        ]
        return sql, params

    def recorded(swiper_id: int, swipe_id: int, contribution_id: int, now, scores, count, position) -> SwipeOutcome:
        stored.pk = contribution_id
        swipe = Swipe(
            pk=swipe_id,
            user_data_id=swiper_id,
            photo_id=photo_id,
            liked=liked,
            contribution=stored,
            rule=rule,
            created=now,
        )
        return SwipeOutcome(swipe, created=True, swipe_count=count, scores=scores, queue_position=position)

    if connection.vendor == "postgresql":
        # Optimistic first: read the swiper's row, then in one statement lock it only if it is still
        # at the revision read, insert the swipe and write the scores computed from what was read. Two
        # round trips in autocommit instead of four (BEGIN, lock + insert, update, COMMIT). If the row
        # moved on meanwhile (another tab's swipe, an undo) or nothing was inserted (a repeat, a photo
        # no longer servable, a vector never stored), nothing was written: the locking path below decides.
        with connection.cursor() as cursor:
            state = _read_swiper(cursor, f"SELECT {columns}, revision FROM {swipers} WHERE {where}", value)
            if state is None:
                return None
            swiper_id, score_cities, score_values, count, position, revision = state
            scores_before = CityVector.from_bytes(score_cities, score_values, dtype=SCORE_DTYPE)
            scores, position = scores_before.plus(contribution), max(position, photo_position)
            now = timezone.now()
            update, update_params = update_sql(scores, scores_before, count + 1, position, now)
            cursor.execute(
                f"WITH s AS (SELECT id FROM {swipers} WHERE id = %s AND revision = %s FOR UPDATE),"
                f" i AS ({insert_sql('s.id', 's, ')} RETURNING id, contribution_id),"
                f" u AS ({update} AND EXISTS (SELECT FROM i) RETURNING id)"
                " SELECT i.id, i.contribution_id FROM i, u",  # a row: the swipe inserted and the scores written
                [swiper_id, revision, *insert_params(now), *update_params, swiper_id],
            )
            inserted = cursor.fetchone()
        if inserted is not None:
            return recorded(swiper_id, *inserted, now, scores, count + 1, position)

    with transaction.atomic(), connection.cursor() as cursor:
        now = timezone.now()
        locked = lock_and_insert(cursor, now)
        if locked is None:
            return None
        (swiper_id, score_cities, score_values, count, position), inserted = locked
        scores_before = CityVector.from_bytes(score_cities, score_values, dtype=SCORE_DTYPE)
        previous = None
        if inserted is None:
            previous = live_swipes(swiper_id).filter(photo_id=photo_id).first()
            if previous is None:
                # Not swiped yet, so the photo is not servable or the insert did not see its
                # contribution: the first swipe of this vector, or another swiper's transaction
                # stored it after the insert began. Store it (a no-op if stored) and try once more.
                _store([stored])
                inserted = insert(cursor, swiper_id, now)
        swipe_id, contribution_id = inserted or (None, None)
        if swipe_id is None:
            if previous is None:
                raise PhotoNotAvailable(f"photo {photo_id} does not exist or is not available for swiping")
            if previous.liked != liked:
                raise AlreadySwiped(
                    f"photo {photo_id} was already {'liked' if previous.liked else 'noped'}; undo first"
                )
            return SwipeOutcome(
                previous, created=False, swipe_count=count, scores=scores_before, queue_position=position
            )
        scores, position = scores_before.plus(contribution), max(position, photo_position)
        update, update_params = update_sql(scores, scores_before, count + 1, position, now)
        cursor.execute(update, [*update_params, swiper_id])
    return recorded(swiper_id, swipe_id, contribution_id, now, scores, count + 1, position)


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
    remaining = (
        live_swipes(locked).order_by("id").values_list("contribution__vector_cities", "contribution__vector_values")
    )
    vectors = [CityVector.from_bytes(c, v, dtype=CONTRIBUTION_DTYPE) for c, v in remaining]
    locked.score_vector = score_vectors.replay(vectors)
    locked.swipe_count = len(vectors)
    # Step back so the undone photo is served again next.
    locked.queue_position = min(locked.queue_position, last.photo.queue_position - 1)
    _save_state(locked, [*SCORE_FIELDS, "swipe_count", "queue_position"])
    _refresh(user_data, locked)
    return last


@transaction.atomic
def reset_swipes(*, user_data: UserSwipeData) -> int:
    """Start over: retract every live swipe (the log keeps them) and zero the scores. Returns how many."""
    locked = _locked(user_data)
    count = live_swipes(locked).update(retracted_at=timezone.now(), retraction=Swipe.Retraction.RESET)
    locked.score_vector = CityVector.empty()
    locked.swipe_count = 0
    locked.queue_position = -1
    _save_state(locked, [*SCORE_FIELDS, "swipe_count", "queue_position"])
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
                .select_related("contribution", "photo__model_version")
                .defer("photo__model_version__metrics")  # unused here, and K x K numbers per swipe
            )
            if rescore and fix:
                rule = current_rule()
                for swipe in swipes:
                    if swipe.photo.probabilities is None and swipe.photo.city_id is None:
                        continue  # no vector any more: keep what the swipe added at the time
                    vector = CityVector.from_dict(swipe_contribution_for(swipe.photo, swipe.liked, rule=rule))
                    swipe.contribution = stored_contribution(_rounded(vector))
                    swipe.rule = rule
                    swipe.save(update_fields=["contribution", "rule"])
            expected = score_vectors.replay(s.contribution_vector for s in swipes)
            differing = scoring.scores_differ(locked.scores, expected.as_dict(), tolerance=0.0)
            checked += 1
            if differing or locked.swipe_count != len(swipes):
                drifts.append(Drift(pk, differing, locked.swipe_count, len(swipes)))
                if fix:
                    locked.score_vector = expected
                    locked.swipe_count = len(swipes)
                    _save_state(locked, [*SCORE_FIELDS, "swipe_count"])
    return checked, drifts


def _refresh(target: UserSwipeData, source: UserSwipeData) -> None:
    target.revision = source.revision
    target.score_vector = source.score_vector
    target.swipe_count = source.swipe_count
    target.queue_position = source.queue_position
