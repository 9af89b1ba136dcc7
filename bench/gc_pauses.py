"""Python's full garbage collections in a web worker, with and without the start-up objects frozen.

A gunicorn worker holds about 130,000 GC-tracked objects it loaded at start-up (modules, models,
URL patterns, views). Every full (generation 2) collection walks all of them, however few objects
the requests since then created, and the request in hand waits. cityvibes_site/wsgi.py's
freeze_startup_objects (called by gunicorn's post_worker_init) moves them out of the collector's
reach with gc.freeze(). This measures both ways in one process, in turns:

- loaded as a worker is (settings, middleware, every view, the photo matrix), on PostgreSQL and the
  Redis cache with production settings, as bench/swipe_cost.py does;
- each turn: a new swiper makes --swipes swipes (the same photos every turn) through the whole
  Django stack (test client), each asking for the next 6 photos as static/js/swipe.js does; every
  collection is timed with gc.callbacks;
- turns alternate: as loaded, then frozen (gc.freeze), then unfrozen again (gc.unfreeze), ...

    python -m bench.gc_pauses [--swipes 2000] [--rounds 2] [--cities 256] [--photos 5000] [--save]

Uses its own database (cityvibes_bench_gc, dropped and recreated, dropped at the end) and Redis
database 12 as the cache.
"""

import argparse
import gc
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import swipe_data  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "gc_pauses.txt"
MODES = ("as loaded", "frozen")


class CollectionTimer:
    """Every collection's generation and duration (ms), from gc.callbacks."""

    def __init__(self):
        self.started = 0.0
        self.pauses: list[tuple[int, float]] = []

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], 1000 * (time.perf_counter() - self.started)))


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swipes", type=int, default=2000, help="swipes per turn")
    parser.add_argument("--rounds", type=int, default=2, help="turns each way, alternating")
    parser.add_argument("--cities", type=int, default=256)
    parser.add_argument("--photos", type=int, default=5000)
    parser.add_argument(
        "--database-url", default=swipe_data.DEFAULT_DATABASE_URL.rsplit("/", 1)[0] + "/cityvibes_bench_gc"
    )
    parser.add_argument("--cache-url", default=swipe_data.DEFAULT_CACHE_URL)
    parser.add_argument("--save", action="store_true", help=f"also write the report to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.photos < args.swipes + 10:
        raise SystemExit(f"--photos {args.photos} is too few: each turn's swiper swipes {args.swipes + 10} photos")

    output = swipe_data.Report("bench.gc_pauses")
    say = output.say
    env = swipe_data.bench_environment(database_url=args.database_url, cache_url=args.cache_url)
    env["DJANGO_ALLOWED_HOSTS"] += ",testserver"
    env.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    swipe_data.recreate_database(args.database_url)
    Path(env["DJANGO_STATIC_ROOT"]).mkdir(parents=True, exist_ok=True)
    swipe_data.setup_django(env)
    swipe_data.clear_cache()
    collection = swipe_data.seed_collection(cities=args.cities, photos=args.photos)
    say(
        f"collection: {args.cities} cities, {args.photos} photos; "
        f"{args.swipes} swipes per turn, {args.rounds} turns each way"
    )

    from django.test import Client

    from cityvibes_site.wsgi import freeze_startup_objects
    from swipes.selectors import warm_up

    say(f"worker start-up: {warm_up()}")
    freeze_startup_objects()  # loads every view, as gunicorn's post_worker_init does
    gc.unfreeze()  # ...and starts "as loaded"
    photos = list(collection.photo_ids)
    random.Random(3).shuffle(photos)
    photos = photos[: args.swipes + 10]

    latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
    hit: dict[str, list[float]] = {mode: [] for mode in MODES}  # swipes during which a full collection ran
    pauses: dict[str, list[tuple[int, float]]] = {mode: [] for mode in MODES}
    tracked: dict[str, int] = {}
    timer = CollectionTimer()
    gc.callbacks.append(timer)
    try:
        for _ in range(args.rounds):
            for mode in MODES:
                gc.collect()
                if mode == "frozen":
                    gc.freeze()
                tracked[mode] = len(gc.get_objects())
                client = Client()  # a new swiper each turn: every turn swipes the same photos from the start
                for photo in photos[:10]:  # the session and the swiper exist before timing
                    client.post("/api/swipes", {"photo": photo, "liked": True, "next": 6}, "application/json")
                timer.pauses = []
                for photo in photos[10:]:
                    before = len(timer.pauses)
                    started = time.perf_counter()
                    response = client.post(
                        "/api/swipes", {"photo": photo, "liked": photo % 2 == 0, "next": 6}, "application/json"
                    )
                    latency = 1000 * (time.perf_counter() - started)
                    assert response.status_code == 201, response.content
                    latencies[mode].append(latency)
                    if any(generation == 2 for generation, _ in timer.pauses[before:]):
                        hit[mode].append(latency)
                pauses[mode] += timer.pauses
                gc.unfreeze()
    finally:
        gc.callbacks.remove(timer)

    say()
    say(
        f"{'':10} {'tracked objects':>15} {'full collections':>16} {'ms each (median / max)':>22} "
        f"{'the swipes they hit, ms (median)':>32} {'all swipes, ms (p50 / p99)':>26}"
    )
    longest = {}
    for mode in MODES:
        full = [ms for generation, ms in pauses[mode] if generation == 2]
        longest[mode] = max(full, default=float("nan"))
        say(
            f"{mode:10} {tracked[mode]:>15,} {len(full):>16} "
            f"{quantile(full, 0.5):>12.1f} / {longest[mode]:>7.1f} {quantile(hit[mode], 0.5):>32.1f} "
            f"{quantile(latencies[mode], 0.5):>18.1f} / {quantile(latencies[mode], 0.99):>5.1f}"
        )
    say()
    say(f"longest full collection, frozen / as loaded: {longest['frozen'] / longest['as loaded']:.2f}")
    say(
        "a swipe's p99 and slowest are set by other waits too (on this machine, COMMITs that wait tens of ms "
        "for the disk): compare the collections and the swipes they hit"
    )
    if args.save:
        output.save(RESULTS)
    from django.db import connections

    connections.close_all()
    swipe_data.drop_database(args.database_url)
    swipe_data.remove_workdir(env)


if __name__ == "__main__":
    main()
