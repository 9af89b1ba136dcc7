"""Do simulated people find their cities through the app's HTTP API as they do in bench/discovery.py?

The same simulated collections and people as bench/discovery.py (by default the kind and vibe
populations at 256 cities), but here each person is a client of the running app, as a product owner's
simulator would be: a cookie jar of its own, one card per request as the swipe page asks for it

    GET /api/photos/next?n=1, POST /api/swipes {"photo", "liked"}, and after 10, 20 and 40 swipes
    GET /api/results?limit=10

and nothing else (no access to the model or the database). Beside it, the taste strategy of
bench/discovery.py with the same people and the same coin flips, in process. The decks differ (the
app seeds each swiper's deck from its own token), so the two agree within the sampling noise, not
exactly. Per cell: a favourite in the top 10 after 10/20/40 swipes, vibe precision of the top 10 after
20, the calibration gap of the two numbers /api/results states per city (kind_probability, and match,
the expected share of the city's photos the person likes), distinct cities in the first 10 cards, the
longest same-city run, and the median time of one swipe (the POST and the next card's GET).

    python -m bench.discovery_http [--users 60] [--cities 256] [--save]

Uses its own PostgreSQL database (cityvibes_bench_http, dropped at the end) and Redis database 12,
with production-like settings (DEBUG off, rate limits on but out of reach). About 11 minutes.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import discovery, swipe_data  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "discovery_http.txt"
HEADER = (
    "| people | fav top10 @10 | @20 | @40 | vibe prec @20 | gap P(kind) | gap like share "
    "| cities in first 10 | longest run | ms per swipe |\n|---|---|---|---|---|---|---|---|---|---|"
)


def store(col: discovery.Collection) -> tuple[np.ndarray, dict[int, int], dict[int, int]]:
    """The collection as the app holds it: cities, an active model over them, photos labelled with their
    city and carrying their vector. Returns (city pk per column, column per city pk, row per photo pk)."""
    from django.db import transaction

    from ml.models import ModelVersion
    from photos.models import City, Photo
    from photos.services import bump_collection_version
    from swipes.collection import forget_collection
    from swipes.models import UserSwipeData

    with transaction.atomic():
        UserSwipeData.objects.all().delete()
        Photo.objects.all().delete()
        ModelVersion.objects.all().delete()
        City.objects.all().delete()
        cities = City.objects.bulk_create(
            [City(name=f"Sim City {c:04d}", country="US", slug=f"sim-city-{c:04d}") for c in range(col.cities)]
        )
        city_pks = np.array([city.pk for city in cities])
        version = ModelVersion.objects.create(
            name="simulated",
            backbone="efficientnet_lite0",
            cities=[int(pk) for pk in city_pks],
            metrics=swipe_data.training_like_metrics([int(pk) for pk in city_pks], col.labels),
            is_active=True,
        )
        photos = Photo.objects.bulk_create(
            [
                swipe_data.bench_photo("sim", row, int(city_pks[label]), row, col.probs[row], version)
                for row, label in enumerate(col.labels)
            ],
            batch_size=500,
        )
    bump_collection_version()
    forget_collection()
    column_of = {int(pk): c for c, pk in enumerate(city_pks)}
    return city_pks, column_of, {photo.pk: row for row, photo in enumerate(photos)}


def swipe_through_the_api(col, population: str, *, users: int, seed: int, column_of, row_of) -> discovery.Cell:
    """bench/discovery.py's simulate, with the app's HTTP API as the strategy."""
    from django.test import Client

    rng = np.random.default_rng([seed, discovery.POPULATIONS.index(population)])  # the same people and coins
    cell = discovery.Cell()
    for _ in range(users):
        person = discovery.make_person(rng, col, population)
        coins, flips = rng.random(40), rng.random(40)
        client = Client(HTTP_HOST="localhost")
        rows = []
        for step in range(40):
            started = time.perf_counter()
            cards = client.get("/api/photos/next?n=1").json()["photos"]
            row = row_of[cards[0]["id"]]
            liked = person.likes(row, coins[step], flips[step])
            swipe = {"photo": cards[0]["id"], "liked": liked}
            answer = client.post("/api/swipes", swipe, content_type="application/json")
            cell.pick_seconds.append(time.perf_counter() - started)
            if answer.status_code != 201:
                raise SystemExit(f"POST /api/swipes answered {answer.status_code}: {answer.content[:300]!r}")
            rows.append(row)
            if step + 1 in discovery.CHECKPOINTS:
                _measure(cell, col, person, client.get("/api/results?limit=10").json(), column_of, step + 1)
        cities = col.labels[rows]
        cell.first_cities.append(len(np.unique(cities[:10])))
        cell.longest_run.append(discovery.longest_run(cities))
    return cell


def _measure(cell, col, person, results: dict, column_of, step: int) -> None:
    """As discovery._measure, from what /api/results says: its cities in order, and per city the two
    numbers it states."""
    listed = results["cities"]
    top = np.array([column_of[city["id"]] for city in listed], dtype=int)
    cell.hits[step].append(bool(np.isin(person.favourites, top).any()))
    if step == 20:
        cell.precision.append(float(np.isin(col.vibe[top], person.vibe).mean()) if len(top) else 0.0)
    if len(top):
        kind = np.array([city["kind_probability"] for city in listed])
        match = np.array([city["match"] for city in listed])
        cell.add_stated("P(kind) top10", kind, np.isin(col.vibe[top], person.vibe))
        cell.add_stated("like share top10", match, person.city_like[top])


def row(label: str, cell: discovery.Cell) -> str:
    hits = " | ".join(f"{np.mean(cell.hits[c]):.2f}" for c in discovery.CHECKPOINTS)
    gaps = " | ".join(
        f"{discovery.calibration(*cell.stated[name])[1]:.3f}" if name in cell.stated else "-"
        for name in ("P(kind) top10", "like share top10")
    )
    return (
        f"| {label} | {hits} | {np.mean(cell.precision):.2f} | {gaps} | {np.mean(cell.first_cities):.1f} "
        f"| {max(cell.longest_run)} | {1000 * np.median(cell.pick_seconds):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=60, help="simulated people per population")
    parser.add_argument("--cities", type=int, default=256)
    parser.add_argument("--collections", nargs="+", default=["a", "b"], choices=["a", "b"])
    parser.add_argument("--populations", nargs="+", default=["kind", "vibe"], choices=discovery.POPULATIONS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-url", default=swipe_data.DEFAULT_DATABASE_URL.replace("bench", "bench_http"))
    parser.add_argument("--cache-url", default=swipe_data.DEFAULT_CACHE_URL)
    parser.add_argument("--save", action="store_true", help=f"also write the report to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()

    report = swipe_data.Report("bench.discovery_http")
    env = swipe_data.bench_environment(database_url=args.database_url, cache_url=args.cache_url)
    Path(env["DJANGO_STATIC_ROOT"]).mkdir(parents=True)  # served by WhiteNoise, which warns if it is missing
    swipe_data.recreate_database(args.database_url)
    try:
        swipe_data.setup_django(env)
        swipe_data.clear_cache()
        for name in args.collections:
            col = discovery.make_collection(name, args.cities, args.seed)
            _, column_of, row_of = store(col)
            report.say(f"\n## collection {col.name}, top-1 accuracy {col.accuracy():.2f}")
            for population in args.populations:
                report.say(f"\n### population {population}, {args.users} people\n{HEADER}")
                api = swipe_through_the_api(
                    col, population, users=args.users, seed=args.seed, column_of=column_of, row_of=row_of
                )
                report.say(row("through the HTTP API", api))
                in_process = discovery.simulate(
                    col, population, discovery.Taste(col, args.seed), users=args.users, seed=args.seed
                )
                report.say(row("taste in process (bench/discovery.py)", in_process))
    finally:
        swipe_data.drop_database(args.database_url)
        swipe_data.remove_workdir(env)
    if args.save:
        report.save(RESULTS)


if __name__ == "__main__":
    main()
