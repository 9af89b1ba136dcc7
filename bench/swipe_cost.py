"""Does a swipe cost more with more cities, or with a longer history? 50 vs 1,000 cities; 10 vs 1,000 swipes.

In-process on PostgreSQL (no HTTP server, one thread), production settings (DEBUG off, Redis cache,
rate limits on but out of reach). For each case it times, in CPU (this process + its PostgreSQL
backend) and wall time:

- service:  swipes.services.record_swipe, committed;
- endpoint: POST /api/swipes through the whole Django stack (Django's test client);
- fetch:    GET /api/photos/next?n=6 (what static/js/swipe.js asks for with each swipe).

The two cases of a comparison take turns, so that noise from other processes falls on both alike.
Ratios (large / small) near 1.0 mean no growth; this machine's run-to-run noise moves them by
about +-0.15.

    python -m bench.swipe_cost [--steps 150] [--history 1000] [--save]

Uses its own databases (cityvibes_bench_cost_*, dropped at the end) and Redis database 12.
"""

import argparse
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


@dataclass
class Case:
    label: str
    database: str
    cities: int
    photos: int
    prior: int  # swipes the timed users made before
    database_url: str = ""
    swipers: list[int] = field(default_factory=list)  # one per timed op, so each starts from `prior`
    photo_ids: list[int] = field(default_factory=list)
    times: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: {op: [] for op in OPS})


def use_database(url: str) -> None:
    """Point the default connection (and the cache's key prefix) at one benchmark database."""
    from django.core.cache import caches
    from django.db import connections

    from swipes.collection import forget_collection

    name = url.rsplit("/", 1)[1]
    connection = connections["default"]
    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = name
        forget_collection()  # it belongs to one database; a web process never switches
    caches["default"].key_prefix = name  # each database has its own collection version and sessions


def client_for(swiper_pk: int):
    """A test client whose session belongs to this swiper (as after their first swipe in a browser)."""
    from django.test import Client

    from swipes.models import UserSwipeData
    from swipes.sessions import SESSION_KEY

    client = Client(HTTP_HOST="localhost")
    session = client.session
    session[SESSION_KEY] = str(UserSwipeData.objects.get(pk=swiper_pk).anon_token)
    session.save()
    return client


def build(case: Case, base_url: str, *, steps: int) -> None:
    from django.core.management import call_command

    from swipes import services
    from swipes.models import UserSwipeData

    case.database_url = base_url.rsplit("/", 1)[0] + "/" + case.database
    swipe_data.recreate_database(case.database_url)
    use_database(case.database_url)
    call_command("migrate", verbosity=0)
    swipe_data.clear_cache()
    collection = swipe_data.seed_collection(cities=case.cities, photos=case.photos)
    case.photo_ids = collection.photo_ids
    swipe_data.store_contributions(case.photo_ids)
    for _ in OPS:
        swiper = UserSwipeData.objects.create()
        for photo_id in case.photo_ids[: case.prior]:
            services.record_swipe(swiper=swiper, photo_id=photo_id, liked=photo_id % 3 == 0)
        case.swipers.append(swiper.pk)
    if len(case.photo_ids) < case.prior + steps:
        raise SystemExit(f"{case.label}: {case.photos} photos are too few for {case.prior} + {steps} swipes")


def clock(backend: Path) -> tuple[float, float]:
    """(wall, CPU of this process and of its PostgreSQL backend) in seconds; backend: its /proc/PID/schedstat."""
    return time.perf_counter(), time.process_time() + int(backend.read_text().split()[0]) / 1e9


def backend_schedstat() -> Path:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return Path(f"/proc/{cursor.fetchone()[0]}/schedstat")


def time_steps(case: Case, steps: int, start: int, rng: random.Random) -> None:
    from swipes import services
    from swipes.models import UserSwipeData

    use_database(case.database_url)
    clients = [client_for(pk) for pk in case.swipers]
    clients[2].get("/api/photos/next?n=6")  # untimed: builds this database's photo matrix
    backend = backend_schedstat()
    for i in range(start, start + steps):
        photo_id = case.photo_ids[case.prior + i]
        for op, swiper_pk, client in zip(OPS, case.swipers, clients):
            before = clock(backend)
            if op == "service":
                services.record_swipe(swiper=UserSwipeData.objects.get(pk=swiper_pk), photo_id=photo_id, liked=True)
            elif op == "endpoint":
                body = f'{{"photo": {photo_id}, "liked": {"true" if rng.random() < 0.5 else "false"}}}'
                client.post("/api/swipes", body, content_type="application/json")
            else:
                client.get("/api/photos/next?n=6")
            after = clock(backend)
            case.times[op].append((after[0] - before[0], after[1] - before[1]))


def median_ms(values: list[tuple[float, float]], index: int) -> float:
    ordered = sorted(v[index] for v in values)
    return 1000 * ordered[len(ordered) // 2]


def compare(say, title: str, cases: tuple[Case, Case], *, steps: int, turns: int, rng: random.Random) -> None:
    per_turn = steps // turns
    for turn in range(turns):
        for case in cases:
            time_steps(case, per_turn, turn * per_turn, rng)
    small, large = cases
    say(f"\n## {title}")
    say(f"{'ms per call (median)':34} {small.label:>16} {large.label:>16}  ratio")
    names = {"service": "record_swipe", "endpoint": "POST /api/swipes", "fetch": "GET /api/photos/next?n=6"}
    for op in OPS:
        for index, kind in ((1, "CPU"), (0, "wall")):
            a, b = median_ms(small.times[op], index), median_ms(large.times[op], index)
            say(f"{names[op] + ', ' + kind:34} {a:16.2f} {b:16.2f}  {b / a:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150, help="timed swipes per case")
    parser.add_argument("--turns", type=int, default=5, help="the two cases of a comparison take turns this often")
    parser.add_argument("--history", type=int, default=1000, help="earlier swipes of the long-history swipers")
    parser.add_argument("--database-url", default=swipe_data.DEFAULT_DATABASE_URL.replace("bench", "bench_cost"))
    parser.add_argument("--cache-url", default=swipe_data.DEFAULT_CACHE_URL)
    parser.add_argument("--save", action="store_true", help=f"also write the report to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    output = swipe_data.Report("bench.swipe_cost")
    env = swipe_data.bench_environment(database_url=args.database_url, cache_url=args.cache_url)
    swipe_data.setup_django(env, migrate=False)
    photos = 1000 + args.steps
    cities = (
        Case("50 cities", "cityvibes_bench_cost_k50", 50, photos, 10),
        Case("1,000 cities", "cityvibes_bench_cost_k1000", 1000, photos, 10),
    )
    history = (
        Case("10 earlier", "cityvibes_bench_cost_h10", 256, args.history + photos, 10),
        Case(f"{args.history:,} earlier", "cityvibes_bench_cost_h", 256, args.history + photos, args.history),
    )
    started = time.perf_counter()
    for case in (*cities, *history):
        build(case, args.database_url, steps=args.steps)
    output.say(f"set-up {time.perf_counter() - started:.0f} s; {args.steps} timed steps per case in {args.turns} turns")
    rng = random.Random(7)
    compare(output.say, f"cities: 50 vs 1,000 ({photos:,} photos)", cities, steps=args.steps, turns=args.turns, rng=rng)
    compare(
        output.say,
        f"the swipers' history: 10 vs {args.history:,} earlier swipes (256 cities)",
        history,
        steps=args.steps,
        turns=args.turns,
        rng=rng,
    )
    if args.save:
        output.save(RESULTS)
    from django.db import connections

    connections.close_all()
    for case in (*cities, *history):
        swipe_data.drop_database(case.database_url)
    swipe_data.remove_workdir(env)


if __name__ == "__main__":
    main()
