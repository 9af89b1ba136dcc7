"""How many swipes until a swiper's favourite city is in their top 3? Strategies compared in one run.

Collection (synthetic by default; --from-db uses the active ModelVersion's predictions instead)
- K cities in families of 4 look-alikes (Denver, Boulder, ...), families grouped 4 by 4 into
  vibes of 16 cities (mountain towns, beach cities, ...).
- Photo counts per city are uneven (15 to 60 photos), as a real harvest is.
- 80% of a city's photos are typical of it, with a Dirichlet vector: alpha 6 on the city, 1 on
  its 3 look-alikes, 0.15 on the other 12 cities of its vibe, 0.01 elsewhere. The CNN mostly
  names the city, and mixes it up with look-alikes.
- 20% are generic for the vibe (a mountain trail that could be any mountain town): alpha 1 on
  each city of the vibe, 0.01 elsewhere.

Simulated swipers (the model, kept simple)
- A hidden favourite city t, and a taste vector w over cities: w_t = 1, its look-alikes 0.3,
  the rest of its vibe 0.1, every other city 0 (who loves Denver quite likes Boulder and
  a little any mountain town).
- A personal base rate b, uniform in [0.05, 0.3]: they also like some photos for no city reason.
- They like a photo with vector p with probability b + (1 - b) * (w . p).
- --from-db collections have no known families: there w is 1 on t and 0 elsewhere.

Strategies
- original:   the fixed queue (every swiper sees photos in the same shuffled order), sum rule.
- llr+queue:  the fixed queue, llr rule (the product's scoring rule).
- llr+smart:  llr rule, next photo = most informative given the swipes so far (swipes/ordering.py).
- sum+smart:  sum rule with the smart order, to separate the two effects.

Reported per strategy:
- median and 90th percentile of swipes until t enters the top 3 (and top 1) *for good*: it is
  there at that swipe and at every later one up to --max-swipes (never: more than --max-swipes);
- the top-3 hit rate (share of swipers with t in their top 3) after 10, 20, 40, ... swipes, and
  the top-1 hit rate after 20;
- how many swipes it takes until half the swipers have t in their top 3: the same hit rate,
  reached with fewer swipes, is the comparison that matters.
log2(K) is the floor: a yes/no answer can at best halve the candidates.

Also measured: time to pick the next photo for 10,000 photos x 256 cities, as the app's first look
does (swipes/ordering.py: every photo's priority, then the best 32 in order).

Run: python -m bench.discovery            (about 5 minutes on 2 cores)
     python -m bench.discovery --from-db  (the active model's predictions; needs a predicted collection)
"""

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass

import numpy as np

from swipes.ordering import PhotoMatrix, best_first, photo_priorities
from swipes.scoring import swipe_contribution

FAMILY = 4
VIBE = 16
GENERIC_SHARE = 0.2
STRATEGIES = ("original", "llr+queue", "llr+smart", "sum+smart")
CHECKPOINT = 20


@dataclass
class Collection:
    name: str
    vectors: np.ndarray  # (N, K)
    taste: np.ndarray  # (K, K): row t is the taste vector of a swiper whose favourite is t

    @property
    def cities(self) -> int:
        return self.vectors.shape[1]


def synthetic_collection(rng: np.random.Generator, *, cities: int, per_city: int = 15) -> Collection:
    family = np.arange(cities) // FAMILY
    vibe = np.arange(cities) // VIBE
    counts = np.maximum(per_city, (per_city * 4 / np.sqrt(1 + rng.permutation(cities))).astype(int))
    vectors = []
    for city, count in enumerate(counts):
        generic = int(np.sum(rng.random(count) < GENERIC_SHARE))
        typical = np.full(cities, 0.01)
        typical[vibe == vibe[city]] = 0.15
        typical[family == family[city]] = 1.0
        typical[city] = 6.0
        vectors.append(rng.dirichlet(typical, size=count - generic))
        vague = np.where(vibe == vibe[city], 1.0, 0.01)
        vectors.append(rng.dirichlet(vague, size=generic))
    vectors = np.vstack(vectors)[rng.permutation(int(counts.sum()))]
    taste = np.where(vibe[:, None] == vibe[None, :], 0.1, 0.0)
    taste[family[:, None] == family[None, :]] = 0.3
    np.fill_diagonal(taste, 1.0)
    return Collection(f"synthetic, {cities} cities, {len(vectors)} photos", vectors, taste)


def db_collection() -> Collection:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityvibes_site.settings")
    import django

    django.setup()
    from swipes.photo_matrix import photo_matrix

    matrix = photo_matrix()
    if len(matrix) == 0:
        sys.exit("bench.discovery: no servable photos with vectors in the database (import, train and predict first)")
    name = f"database, {len(matrix.city_ids)} cities, {len(matrix)} photos"
    return Collection(name, matrix.vectors, np.eye(len(matrix.city_ids)))


def simulate(collection: Collection, strategy: str, *, users: int, max_swipes: int, seed: int) -> np.ndarray:
    """The favourite city's rank (0 = first) after each swipe: an array of shape (users, max_swipes)."""
    rule, order = strategy.replace("original", "sum+queue").split("+")
    vectors = collection.vectors
    n, k = vectors.shape
    matrix = PhotoMatrix.build(range(n), range(k), vectors)
    rng = np.random.default_rng(seed)  # the same swipers (favourites, base rates, coin flips) for every strategy
    queue = np.random.default_rng(seed + 1).permutation(n)
    ranks = np.empty((users, max_swipes), dtype=int)
    for u in range(users):
        favourite = int(rng.integers(k))
        taste = collection.taste[favourite]
        base = rng.uniform(0.05, 0.3)
        coins = rng.random(max_swipes)
        scores = np.zeros(k)
        shown = np.zeros(n, bool)
        for step in range(max_swipes):
            if order == "queue":
                row = queue[step]
            else:
                ranked = best_first(photo_priorities(matrix, scores, seed=u * 100_003 + step))
                row = ranked[np.argmax(~shown[ranked])]
            shown[row] = True
            p = vectors[row]
            liked = coins[step] < base + (1 - base) * float(taste @ p)
            scores += swipe_contribution(p, liked, rule=rule, mean=matrix.mean)
            # Rank as swipes.scoring.rank_cities does: higher score first (ties go to the favourite).
            ranks[u, step] = int(np.sum(scores > scores[favourite]))
    return ranks


def swipes_until_for_good(ranks: np.ndarray, top: int) -> np.ndarray:
    """Per swiper: the swipe from which the favourite stays in the top `top` to the end (max_swipes+1: never)."""
    users, max_swipes = ranks.shape
    outside = ranks >= top
    last_outside = np.where(outside.any(axis=1), max_swipes - 1 - np.argmax(outside[:, ::-1], axis=1), -1)
    return last_outside + 2


def swipes_until_hit_rate(ranks: np.ndarray, top: int, rate: float) -> int | None:
    """The first swipe count at which at least `rate` of the swipers have their favourite in the top `top`."""
    reached = np.nonzero((ranks < top).mean(axis=0) >= rate)[0]
    return int(reached[0]) + 1 if len(reached) else None


def fmt_swipes(values: np.ndarray, q: float, max_swipes: int) -> str:
    v = float(np.percentile(values, q))
    return f">{max_swipes}" if v > max_swipes else f"{v:.0f}"


def pick_timing(*, photos: int = 10_000, cities: int = 256, calls: int = 200) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    vectors = rng.dirichlet(np.full(cities, 0.05), photos)
    matrix = PhotoMatrix.build(range(photos), range(cities), vectors)
    times = []
    for i in range(calls):
        scores = rng.normal(0, 2, cities)
        start = time.perf_counter()
        best_first(photo_priorities(matrix, scores, seed=i), 32)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000, float(np.percentile(times, 99)) * 1000


def api_timing(*, photos: int = 10_000, cities: int = 256, calls: int = 100) -> dict[str, float]:
    """GET /api/photos/next through Django (session, throttle, pick, database) on PostgreSQL, in process."""
    from bench import swipe_data

    database_url = os.environ.get(
        "CITYVIBES_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cityvibes_bench_discovery"
    )
    swipe_data.recreate_database(database_url)
    env = swipe_data.bench_environment(database_url=database_url, cache_url="redis://127.0.0.1:6379/13")
    env["DJANGO_ALLOWED_HOSTS"] = "testserver"
    try:
        swipe_data.setup_django(env)
        swipe_data.clear_cache()
        from django.test import Client

        collection = swipe_data.seed_collection(cities=cities, photos=photos, prefix="discovery")
        client = Client(enforce_csrf_checks=False)
        started = time.perf_counter()
        first = client.get("/api/photos/next?n=5")
        cold = time.perf_counter() - started
        assert first.status_code == 200, first.content[:200]
        for photo_id in collection.photo_ids[:20]:  # a swiper with some history
            client.post("/api/swipes", {"photo": photo_id, "liked": photo_id % 3 == 0}, content_type="application/json")
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            response = client.get("/api/photos/next?n=5")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200 and len(response.json()["photos"]) == 5
        return {
            "cold": cold * 1000,
            "median": float(np.median(times)) * 1000,
            "p99": float(np.percentile(times, 99)) * 1000,
        }
    finally:
        from django.db import connections

        connections.close_all()
        swipe_data.drop_database(database_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-db", action="store_true", help="use the active model's predictions from the database")
    parser.add_argument("--cities", type=int, nargs="+", default=[50, 256])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--max-swipes", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-api", action="store_true", help="skip timing the API on PostgreSQL")
    args = parser.parse_args()
    if args.max_swipes < CHECKPOINT:
        parser.error(f"--max-swipes must be at least {CHECKPOINT}")

    print(f"$ python -m bench.discovery {' '.join(sys.argv[1:])}".rstrip())
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, NumPy {np.__version__}")
    median_ms, p99_ms = pick_timing()
    print(f"next-photo pick, 10,000 photos x 256 cities: median {median_ms:.1f} ms, p99 {p99_ms:.1f} ms")
    if not args.no_api and not args.from_db:
        api = api_timing()
        print(
            f"GET /api/photos/next?n=5, same size, PostgreSQL, swiper with 20 swipes: median {api['median']:.1f} ms, "
            f"p99 {api['p99']:.1f} ms (first request, building the matrix: {api['cold']:.0f} ms)"
        )
    print("(target: under 20 ms per request)")
    rng = np.random.default_rng(args.seed)
    collections = [db_collection()] if args.from_db else [synthetic_collection(rng, cities=k) for k in args.cities]
    for collection in collections:
        floor = np.log2(collection.cities)
        print()
        print(f"## {collection.name}: {args.users} swipers, up to {args.max_swipes} swipes each")
        print(f"floor: log2(K) = {floor:.1f} swipes (each yes/no answer at best halves the candidates)")
        checkpoints = [c for c in (10, 20, 40, 80, 150) if c <= args.max_swipes]
        hit_columns = " | ".join(f"top-3 @{c}" for c in checkpoints)
        print(
            "| strategy | top-3 for good: median | p90 | top-1 for good: median | p90 | "
            f"{hit_columns} | top-1 @{CHECKPOINT} | swipes until half have it in top 3 "
            f"| swipes to the original's top-3 rate @{args.max_swipes} |"
        )
        print("|---" * (8 + len(checkpoints)) + "|")
        target = None
        for strategy in STRATEGIES:
            started = time.perf_counter()
            ranks = simulate(collection, strategy, users=args.users, max_swipes=args.max_swipes, seed=args.seed)
            m = args.max_swipes
            to3, to1 = swipes_until_for_good(ranks, 3), swipes_until_for_good(ranks, 1)
            hits = " | ".join(f"{(ranks[:, c - 1] < 3).mean():.2f}" for c in checkpoints)
            half = swipes_until_hit_rate(ranks, 3, 0.5)
            if target is None:  # the original comes first: its final top-3 hit rate is the bar
                target = float((ranks[:, -1] < 3).mean())
            same = swipes_until_hit_rate(ranks, 3, target)
            print(
                f"| {strategy} | {fmt_swipes(to3, 50, m)} | {fmt_swipes(to3, 90, m)} | {fmt_swipes(to1, 50, m)} "
                f"| {fmt_swipes(to1, 90, m)} | {hits} | {(ranks[:, CHECKPOINT - 1] < 1).mean():.2f} "
                f"| {half if half else f'>{m}'} | {same if same else f'>{m}'} ({target:.2f}) |",
                flush=True,
            )
            print(f"  ({strategy}: {time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
