"""How the cost of one swipe grows: 50 vs 1,000 cities, and 10 vs 10,000 earlier swipes by the same user.

In-process on PostgreSQL (no HTTP server, one thread), the same settings as production (DEBUG
off, Redis cache, rate limits on but out of reach). For each case it times:

- service:  swipes.services.record_swipe (contribution from the photo matrix; lock the swiper,
            insert the swipe if the photo is servable and not yet swiped, update the scores), committed;
- endpoint: POST /api/swipes through the whole Django stack (middleware, session, DRF, throttle,
            the response with the top cities), Django's test client;
- fetch:    GET /api/photos/next?n=10 (what static/js/swipe.js asks for).

The two cases of each comparison take turns (the two databases, or the two users), so that
noise from other processes falls on both alike. The history database also holds a crowd of
other swipers (their swipes and sessions), so the tables have production-like sizes and the
user with 10,000 swipes is a minority of the swipe log. Then EXPLAIN (ANALYZE, BUFFERS) of every
query one fetch and one swipe run, for that user: the plans show which index each hot query uses.
Also the WAL one swipe's writes make (what every commit waits to flush to disk), which unlike the
times machine noise does not move.

    python -m bench.swipe_cost [--swipes 150] [--history 10000] [--history-cities 256] [--save]

Uses its own databases (cityvibes_bench_cost_*, dropped and recreated, dropped at the end) and
Redis database 12 as the cache.
"""

import argparse
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import swipe_data  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "swipe_cost.txt"
OPS = ("service", "endpoint", "fetch")
SMALL_TABLES = {"photos_city", "ml_modelversion"}  # a sequential scan of these is cheaper than an index


@dataclass
class Case:
    label: str
    database: str
    cities: int
    photos: int
    prior: int  # swipes the timed user has made before
    database_url: str = ""
    user_pk: int = 0
    photo_ids: list[int] = field(default_factory=list)
    next_photo: int = 0  # index into photo_ids of the timed user's next photo
    # (wall seconds, CPU seconds of this process + its PostgreSQL backend) per call
    times: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: {op: [] for op in OPS})
    scoring: list[tuple[float, float]] = field(default_factory=list)


def use_database(name: str) -> None:
    """Point the default connection (and the cache's key prefix) at one benchmark database."""
    from django.core.cache import caches
    from django.db import connections

    from swipes.selectors import forget_photo_matrix

    connection = connections["default"]
    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = name
        # The smart order's matrix (and the collection mean) belong to one database; a web process
        # never switches, this one does. Without this, up to CITYVIBES_PHOTO_MATRIX_MAX_AGE seconds of
        # swipes were scored with the other database's 1,000-city mean.
        forget_photo_matrix()
    # Each database has its own collection version (from the clock), so per-process caches rebuild.
    caches["default"].key_prefix = name


def give_history(user_data, photos, *, rng: random.Random) -> None:
    """Swipes made earlier, written in bulk but exactly as record_swipe would have (scores = replay)."""
    from swipes import score_vectors
    from swipes.models import Swipe
    from swipes.services import current_rule, prepare_contributions

    rule = current_rule()
    stored = prepare_contributions(photo.pk for photo in photos)
    rows = []
    for photo in photos:
        liked = rng.random() < 0.5
        contribution = stored[photo.pk, liked]
        rows.append(Swipe(user_data=user_data, photo=photo, liked=liked, contribution=contribution, rule=rule))
    Swipe.objects.bulk_create(rows, batch_size=500)
    user_data.score_vector = score_vectors.replay(row.contribution_vector for row in rows)
    user_data.swipe_count = len(rows)
    user_data.queue_position = max([user_data.queue_position, *(p.queue_position for p in photos)])
    user_data.save(update_fields=["score_cities", "score_values", "swipe_count", "queue_position", "updated"])


def add_crowd(*, photo_ids: list[int], swipers: int, swipes_each: int, idle: int, rng: random.Random) -> None:
    """Other swipers, their swipes and sessions, so that the tables have production-like sizes.

    Their swipes refer to an empty contribution (and their scores are the empty replay of it): only
    the number and spread of rows matter to the query planner.
    """
    import datetime

    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from swipes.models import Swipe, UserSwipeData
    from swipes.score_vectors import CityVector
    from swipes.services import stored_contribution

    users = UserSwipeData.objects.bulk_create([UserSwipeData() for _ in range(swipers + idle)], batch_size=2000)
    nothing = stored_contribution(CityVector.empty())
    rows = [
        Swipe(user_data=user, photo_id=photo_id, liked=rng.random() < 0.5, contribution=nothing, rule="llr")
        for user in users[:swipers]
        for photo_id in rng.sample(photo_ids, swipes_each)
    ]
    Swipe.objects.bulk_create(rows, batch_size=2000)
    UserSwipeData.objects.filter(pk__in=[u.pk for u in users[:swipers]]).update(swipe_count=swipes_each)
    data = SessionStore().encode({})
    expires = timezone.now() + datetime.timedelta(days=14)
    Session.objects.bulk_create(
        [Session(session_key=f"bench{i:027d}", session_data=data, expire_date=expires) for i in range(swipers + idle)],
        batch_size=2000,
    )


def build(case: Case, *, rng: random.Random, ahead: int, crowd: dict | None = None, users: list[Case] = ()) -> None:
    """Create the case's database: collection, the timed user(s) with their earlier swipes, other swipers.

    ahead: how many photos each timed user will swipe.
    """
    from django.db import connection

    from photos.models import Photo
    from swipes.models import UserSwipeData

    swipe_data.recreate_database(case.database_url)
    use_database(case.database)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    collection = swipe_data.seed_collection(cities=case.cities, photos=case.photos)
    timed_users = users or [case]
    most = max(timed.prior for timed in timed_users)
    # Only what the history needs: with its model version joined, each photo carried its own copy of
    # the version's K x K metrics, and the set-up held 17 GB at 10,000 photos x 256 cities.
    photos = list(Photo.objects.only("pk", "queue_position").order_by("queue_position")[:most])
    for timed in timed_users:
        timed.photo_ids = collection.photo_ids
        user = UserSwipeData.objects.create()
        give_history(user, photos[: timed.prior], rng=rng)
        timed.user_pk = user.pk
        timed.next_photo = timed.prior
    if crowd:
        add_crowd(photo_ids=collection.photo_ids, rng=rng, **crowd)
    # As in production once a photo has been swiped by someone (either way): what swiping it adds is
    # stored, and a swipe only refers to it. A photo's first swipe ever also stores it (one more
    # INSERT of K numbers): not timed here.
    from swipes.services import prepare_contributions

    for timed in timed_users:
        prepare_contributions(timed.photo_ids[timed.prior : timed.prior + ahead])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # planner statistics, as autovacuum would have them in production


def client_for(user_pk: int):
    """A test client whose session belongs to this swiper (as after their first swipe in a browser)."""
    from django.test import Client

    from swipes.models import UserSwipeData
    from swipes.services import SESSION_KEY

    client = Client()
    session = client.session
    session[SESSION_KEY] = str(UserSwipeData.objects.get(pk=user_pk).anon_token)
    session.save()
    return client


class Meter:
    """Wall time, and CPU time of this process plus its PostgreSQL backend (from /proc/<pid>/schedstat).

    CPU time is what a swipe costs; wall time adds the wait for a CPU while other processes run.
    """

    def __init__(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backend = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")
        self.readable = self.backend.exists()  # PostgreSQL on this machine

    def now(self) -> tuple[float, float]:
        backend = int(self.backend.read_text().split()[0]) / 1e9 if self.readable else 0.0
        return time.perf_counter(), time.process_time() + backend

    def since(self, start: tuple[float, float]) -> tuple[float, float]:
        wall, cpu = self.now()
        return wall - start[0], cpu - start[1]


def time_steps(case: Case, steps: int, *, rng: random.Random, record: bool = True) -> None:
    """steps x (one fetch, one swipe through the service, one through the endpoint) for the case's user."""
    from swipes.models import UserSwipeData
    from swipes.selectors import contribution_vector_for
    from swipes.services import current_rule, record_swipe

    use_database(case.database)
    client = client_for(case.user_pk)
    meter = Meter()
    for _ in range(steps):
        started = meter.now()
        response = client.get("/api/photos/next?n=10")
        fetch = meter.since(started)
        assert response.status_code == 200 and response.json()["photos"], response.content

        user = UserSwipeData.objects.get(pk=case.user_pk)
        photo_id = case.photo_ids[case.next_photo]
        started = meter.now()
        outcome = record_swipe(user_data=user, photo_id=photo_id, liked=rng.random() < 0.5)
        service = meter.since(started)
        assert outcome.created

        photo_id = case.photo_ids[case.next_photo + 1]
        started = meter.now()
        response = client.post("/api/swipes", {"photo": photo_id, "liked": rng.random() < 0.5}, "application/json")
        endpoint = meter.since(started)
        assert response.status_code == 201, response.content
        case.next_photo += 2

        # The part that is O(cities) by nature: the contribution vector and the score update (NumPy).
        started = meter.now()
        contribution, _ = contribution_vector_for(photo_id, True, rule=current_rule())
        user.score_vector.plus(contribution)
        pure = meter.since(started)
        if record:
            case.times["fetch"].append(fetch)
            case.times["service"].append(service)
            case.times["endpoint"].append(endpoint)
            case.scoring.append(pure)


def compare(cases: tuple[Case, Case], *, swipes: int, rounds: int, rng: random.Random) -> None:
    """The two cases take turns: `rounds` turns each, every turn preceded by an untimed step."""
    for turn in range(rounds):
        steps = swipes // rounds + (1 if turn < swipes % rounds else 0)
        for case in cases:
            time_steps(case, 1, rng=rng, record=False)  # after a switch: connection, per-process caches
            time_steps(case, steps, rng=rng)


def ms(values: list[tuple[float, float]], q: float, *, cpu: bool) -> float:
    ordered = sorted(v[1] if cpu else v[0] for v in values)
    return 1000 * ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def table(say, title: str, cases: tuple[Case, Case]) -> dict[str, float]:
    """Median and p90 per operation for both cases; the ratio of the medians. Returns the CPU ratios."""
    small, large = cases
    say()
    say(f"## {title}")
    say(f"{'ms per call (median / p90)':34} {small.label:>20} {large.label:>22} {'ratio':>6}")
    ratios = {}
    rows = [(op, what, cpu) for op, what in (
        ("service", "record_swipe"),
        ("endpoint", "POST /api/swipes"),
        ("fetch", "GET /api/photos/next?n=10"),
        ("scoring", "  of which pure scoring (Python)"),
    ) for cpu in (True, False) if not (op == "scoring" and not cpu)]  # fmt: skip
    for op, what, cpu in rows:
        a = small.scoring if op == "scoring" else small.times[op]
        b = large.scoring if op == "scoring" else large.times[op]
        ratio = ms(b, 0.5, cpu=cpu) / ms(a, 0.5, cpu=cpu)
        if cpu:
            ratios[op] = ratio
        label = f"{what}, {'CPU' if cpu else 'wall'}"
        say(
            f"{label:34} {ms(a, 0.5, cpu=cpu):10.2f} / {ms(a, 0.9, cpu=cpu):7.2f} "
            f"{ms(b, 0.5, cpu=cpu):12.2f} / {ms(b, 0.9, cpu=cpu):7.2f} {ratio:6.2f}"
        )
    (a_bytes, a_fpi), (b_bytes, b_fpi) = swipe_wal(small), swipe_wal(large)
    say(
        f"{'WAL of one swipe, bytes (page images)':37} {a_bytes:>8,} ({a_fpi})"
        f" {b_bytes:>18,} ({b_fpi}) {b_bytes / (a_bytes or 1):9.2f}"
    )
    return ratios


def swipe_statements(case: Case, *, fetch: bool) -> list[str]:
    """The SQL of one swipe (after one fetch if asked) by the case's user, run and rolled back."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    use_database(case.database)
    client = client_for(case.user_pk)
    photo_id = case.photo_ids[case.next_photo]
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        if fetch:
            assert client.get("/api/photos/next?n=10").status_code == 200
        assert client.post("/api/swipes", {"photo": photo_id, "liked": True}, "application/json").status_code == 201
        transaction.set_rollback(True)
    skip = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].upper().startswith(skip)]


def swipe_wal(case: Case) -> tuple[int, int]:
    """WAL bytes and full-page images the writes of one swipe make (EXPLAIN (ANALYZE, WAL), rolled back).

    What each commit waits to flush to disk; unlike the times, machine noise does not move it (only
    a checkpoint just before adds page images, shown apart).
    """
    from django.db import connection, transaction

    written, images = 0, 0
    # Every statement, not only INSERT and UPDATE: the swiper's row lock writes WAL too, and on
    # PostgreSQL the lock and the swipe's INSERT are one WITH statement (reads add nothing).
    statements = swipe_statements(case, fetch=False)  # (switches to the case's database first)
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute("EXPLAIN (ANALYZE, WAL, COSTS OFF, SUMMARY OFF, FORMAT JSON) " + sql)
            plan = cursor.fetchone()[0]
            plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            written += int(plan.get("WAL Bytes", 0))
            images += int(plan.get("WAL FPI", 0))
        transaction.set_rollback(True)
    return written, images


def explain(say, case: Case) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) every query of one fetch and one swipe by the case's user, then undo them."""
    from django.db import connection, transaction

    statements = swipe_statements(case, fetch=True)
    seq_scans = []
    with transaction.atomic(), connection.cursor() as cursor:
        for number, sql in enumerate(statements, start=1):
            say()
            say(f"[{number}] {sql if len(sql) <= 300 else sql[:300] + ' ...'}")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY OFF) " + sql)
            for (line,) in cursor.fetchall():
                say("      " + line)
                if "Seq Scan on " in line:
                    table_name = line.split("Seq Scan on ", 1)[1].split()[0]
                    if table_name not in SMALL_TABLES:
                        seq_scans.append((number, table_name))
        transaction.set_rollback(True)
    say()
    say(
        "sequential scans of big tables: "
        + (", ".join(f"[{n}] {t}" for n, t in seq_scans) if seq_scans else "none (every hot query uses an index)")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swipes", type=int, default=150, help="timed steps per case")
    parser.add_argument("--rounds", type=int, default=5, help="turns each case takes, alternating")
    parser.add_argument("--photos", type=int, default=2000, help="photos in the cities comparison")
    parser.add_argument("--history", type=int, default=10000, help="earlier swipes of the heavy user")
    parser.add_argument("--history-cities", type=int, default=256)
    parser.add_argument("--history-photos", type=int, help="photos in the history comparison (2 x --history)")
    parser.add_argument("--crowd", type=int, default=2000, help="other swipers with swipes (history database)")
    parser.add_argument("--crowd-swipes", type=int, default=50, help="swipes of each other swiper")
    parser.add_argument("--idle", type=int, default=20000, help="other swipers (and sessions) without swipes")
    parser.add_argument("--database-url", default=swipe_data.DEFAULT_DATABASE_URL, help="server and name prefix")
    parser.add_argument("--cache-url", default=swipe_data.DEFAULT_CACHE_URL)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--save", action="store_true", help=f"also write the report to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()

    output = swipe_data.Report("bench.swipe_cost")
    say = output.say
    base = args.database_url.rstrip("/")
    prefix = base.rsplit("/", 1)[1] + "_cost"
    server = base.rsplit("/", 1)[0]
    cases = {
        "c50": Case("50 cities", f"{prefix}_c50", 50, args.photos, prior=10),
        "c1000": Case("1,000 cities", f"{prefix}_c1000", 1000, args.photos, prior=10),
        "light": Case("10 earlier swipes", f"{prefix}_history", args.history_cities, 0, prior=10),
        "heavy": Case(f"{args.history:,} earlier swipes", f"{prefix}_history", args.history_cities, 0, args.history),
    }
    history_photos = max(args.history_photos or 2 * args.history, args.history + 2 * (args.swipes + 20) + 50)
    cases["light"].photos = cases["heavy"].photos = history_photos
    for case in cases.values():
        case.database_url = f"{server}/{case.database}"

    env = swipe_data.bench_environment(database_url=cases["c50"].database_url, cache_url=args.cache_url)
    env["DJANGO_ALLOWED_HOSTS"] += ",testserver"
    # One BLAS thread, as a web worker should run: idle OpenBLAS threads spin after each matrix
    # product (the photo ordering's) and their CPU would be billed to whatever is timed next.
    env.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    swipe_data.recreate_database(cases["c50"].database_url)
    Path(env["DJANGO_STATIC_ROOT"]).mkdir(parents=True, exist_ok=True)  # no static files are served here
    swipe_data.setup_django(env, migrate=False)
    swipe_data.clear_cache()
    rng = random.Random(11)
    started = time.perf_counter()
    ahead = 2 * (args.swipes + args.rounds) + 2  # timed and untimed steps, and the EXPLAINed swipe
    build(cases["c50"], rng=rng, ahead=ahead)
    build(cases["c1000"], rng=rng, ahead=ahead)
    build(
        cases["light"],
        rng=rng,
        ahead=ahead,
        crowd={"swipers": args.crowd, "swipes_each": args.crowd_swipes, "idle": args.idle},
        users=[cases["light"], cases["heavy"]],
    )
    say(
        f"set-up {time.perf_counter() - started:.0f} s: cities comparison {args.photos} photos each; "
        f"history comparison {history_photos} photos x {args.history_cities} cities, "
        f"two users (10 and {args.history:,} earlier swipes) "
        f"among {args.crowd:,} other swipers x {args.crowd_swipes} swipes and {args.idle:,} idle swipers "
        f"with sessions; scoring rule "
        f"{os.environ.get('CITYVIBES_SCORING_RULE', 'llr')}"
    )
    say(
        f"{args.swipes} timed steps per case; the two cases of a comparison take {args.rounds} turns each; "
        f"OPENBLAS_NUM_THREADS={env['OPENBLAS_NUM_THREADS']}"
    )
    compare((cases["c50"], cases["c1000"]), swipes=args.swipes, rounds=args.rounds, rng=rng)
    compare((cases["light"], cases["heavy"]), swipes=args.swipes, rounds=args.rounds, rng=rng)
    by_cities = table(say, f"cities: 50 vs 1,000 ({args.photos:,} photos, a user with 10 earlier swipes)", (
        cases["c50"], cases["c1000"]
    ))  # fmt: skip
    by_history = table(
        say,
        f"earlier swipes of the user: 10 vs {args.history:,} ({history_photos:,} photos, {args.history_cities} cities)",
        (cases["light"], cases["heavy"]),
    )
    say()
    say("CPU ratios (large / small), where 1.0 is no growth and > 1.5 counts as growing:")
    for name, ratios in (("1,000 vs 50 cities", by_cities), (f"{args.history:,} vs 10 earlier swipes", by_history)):
        verdicts = ", ".join(
            f"{op} {ratio:.2f}{' GROWS' if ratio > 1.5 else ''}" for op, ratio in ratios.items() if op != "scoring"
        )
        say(f"  {name}: {verdicts}")
    say()
    say(f"## query plans: one fetch and one swipe by the user with {args.history:,} earlier swipes")
    explain(say, cases["heavy"])
    if args.save:
        output.save(RESULTS)
    if not args.keep_db:
        from django.db import connections

        connections.close_all()
        for name in {c.database_url for c in cases.values()}:
            swipe_data.drop_database(name)
    swipe_data.remove_workdir(env)


if __name__ == "__main__":
    main()
