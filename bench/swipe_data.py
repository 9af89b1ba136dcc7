"""Shared set-up for the swipe benchmarks: a throwaway PostgreSQL database and a synthetic collection.

The collection is written straight through the ORM (bulk_create): cities, one active ModelVersion
with the city order, and photos carrying softmax-like probability vectors over every city. The
photos' file fields name files that do not exist: the API only builds their URLs.
"""

import hashlib
import os
import platform
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/cityvibes_bench"
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/12"


class Report:
    """A benchmark's printed report, kept so that --save can write it: the command and the machine first."""

    def __init__(self, module: str):
        self.lines: list[str] = []
        env_prefix = "".join(f"{k}={os.environ[k]} " for k in ("OPENBLAS_NUM_THREADS",) if k in os.environ)
        self.say("$ " + env_prefix + shlex.join(["python", "-m", module, *sys.argv[1:]]))
        self.say(
            f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
            f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}"
        )

    def say(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def save(self, path: Path, *, append: bool = False) -> None:
        """Write the report to path (bench/results/...), or add it after what the file holds."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a" if append else "w") as f:
            f.write(("\n" if append else "") + "\n".join(self.lines) + "\n")
        print(f"saved to {path.relative_to(ROOT)}")


def _split(database_url: str) -> tuple[str, str]:
    """(database name, URL of the maintenance database on the same server)."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if parts.scheme not in {"postgres", "postgresql"} or not name:
        raise SystemExit(f"need a postgres://.../name URL, got {database_url!r}")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop and recreate {name!r}: a benchmark database name must contain 'bench'")
    return name, urlunsplit(parts._replace(path="/postgres"))


def recreate_database(database_url: str) -> None:
    """Drop (if present) and create the benchmark's own database."""
    import psycopg

    name, maintenance = _split(database_url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(database_url: str) -> None:
    import psycopg

    name, maintenance = _split(database_url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_environment(*, database_url: str, cache_url: str) -> dict[str, str]:
    """Production-like settings for this process and for gunicorn (DEBUG off, PostgreSQL, Redis cache)."""
    workdir = Path(tempfile.mkdtemp(prefix="cityvibes-bench-"))
    return {
        "DJANGO_SETTINGS_MODULE": "cityvibes_site.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-" + hashlib.sha256(str(workdir).encode()).hexdigest(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        "DJANGO_MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "DJANGO_LOG_LEVEL": "ERROR",
        # Plain HTTP on loopback: no redirect to HTTPS, cookies usable without TLS.
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        # Rate limits on (counting is part of every request's cost, as in production) but out of reach.
        "CITYVIBES_RATE_SWIPES": "100000/s",
        "CITYVIBES_RATE_IDENTIFY": "100000/s",
    }


def remove_workdir(env: dict[str, str]) -> None:
    """Delete the run's media and collected static files (bench_environment made the folder)."""
    import shutil

    shutil.rmtree(Path(env["DJANGO_MEDIA_ROOT"]).parent, ignore_errors=True)


def setup_django(env: dict[str, str], *, migrate: bool = True) -> None:
    os.environ.update(env)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def clear_cache() -> None:
    """Empty the benchmark's cache database (a stale collection mean from an earlier run must not be used)."""
    from django.core.cache import cache

    cache.clear()


@dataclass(frozen=True)
class Collection:
    city_ids: list[int]
    photo_ids: list[int]  # in queue order
    model_version_id: int
    seconds: float


def training_like_metrics(city_ids: list[int], labels) -> dict:
    """Metrics shaped like ml.services.train_model's: per-city figures and two K x K confusion matrices."""
    k = len(city_ids)
    counts = [int((labels == i).sum()) for i in range(k)]
    confusion = [[counts[i] // 5 if i == j else 0 for j in range(k)] for i in range(k)]
    return {
        **{split: {"count": len(labels), "accuracy": 0.5, "top5_accuracy": 0.8} for split in ("train", "val", "test")},
        "per_city": {
            str(c): {"name": f"City {c}", "photos": n, "train": n, "val": n // 5, "test": n // 5, "val_accuracy": 0.5}
            for c, n in zip(city_ids, counts)
        },
        "confusion": {"order": city_ids, "val": confusion, "test": confusion},
        "photos_per_city": {str(c): n for c, n in zip(city_ids, counts)},
        "skipped_cities": [],
    }


def bench_photo(prefix: str, i: int, city_id: int, position: int, probabilities, version):
    from photos.models import Photo

    return Photo(
        image=f"{prefix}/originals/{i}.jpg",
        display_image=f"{prefix}/display/{i}.jpg",
        thumbnail=f"{prefix}/thumbs/{i}.jpg",
        width=800,
        height=600,
        content_hash=hashlib.sha256(f"{prefix}-photo-{i}".encode()).hexdigest(),
        city_id=city_id,
        source="bench",
        author="Benchmark",
        licence="CC0",
        licence_url="https://creativecommons.org/publicdomain/zero/1.0/",
        title=f"Benchmark photo {i}",
        queue_position=position,
        probabilities=[float(p) for p in probabilities],
        model_version=version,
    )


def seed_collection(*, cities: int, photos: int, seed: int = 7, prefix: str = "bench") -> Collection:
    """Cities, an active ModelVersion over them, and photos with a probability vector over every city."""
    import numpy as np
    from django.db import connection, transaction

    from ml.models import ModelVersion
    from photos.models import City, Photo
    from photos.services import bump_collection_version

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    with transaction.atomic():
        City.objects.bulk_create(
            [
                City(name=f"{prefix.title()} City {i:04d}", country="US", slug=f"{prefix}-city-{i:04d}")
                for i in range(cities)
            ],
            batch_size=1000,
        )
        ours = City.objects.filter(slug__startswith=f"{prefix}-city-")
        city_ids = list(ours.order_by("pk").values_list("pk", flat=True))
        positions = rng.permutation(photos * 8)[:photos]
        # Zipf-ish label counts, like a harvested collection: a few cities have many photos.
        weights = 1.0 / np.arange(1, cities + 1) ** 0.8
        labels = rng.choice(cities, size=photos, p=weights / weights.sum())
        version = ModelVersion.objects.create(
            name=f"{prefix}-model",
            backbone="efficientnet_lite0",
            cities=city_ids,
            metrics=training_like_metrics(city_ids, labels),
            is_active=True,
        )
        batch = 500
        for start in range(0, photos, batch):
            stop = min(start + batch, photos)
            raw = rng.gamma(0.3, size=(stop - start, cities))
            raw[np.arange(stop - start), labels[start:stop]] += raw.sum(axis=1) * rng.uniform(0.5, 4.0, stop - start)
            # float32 softmax outputs written as float64 JSON, like predict_photos writes them.
            probabilities = (raw / raw.sum(axis=1, keepdims=True)).astype(np.float32)
            Photo.objects.bulk_create(
                [
                    bench_photo(prefix, i, city_ids[labels[i]], int(positions[i]), probabilities[i - start], version)
                    for i in range(start, stop)
                ]
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as autovacuum would have them in production
    bump_collection_version()
    photo_ids = list(
        Photo.objects.filter(model_version=version).order_by("queue_position").values_list("pk", flat=True)
    )
    return Collection(city_ids, photo_ids, version.pk, time.perf_counter() - started)


def store_contributions(photo_ids: list[int]) -> int:
    """Store what a like and a nope of each photo add to the stored scores, as once every photo has been
    swiped by someone (so the run's swipes only refer to them). Returns how many vectors were stored."""
    from swipes.models import Contribution
    from swipes.selectors import contribution_for, swipe_photo

    vectors = [contribution_for(swipe_photo(pk), liked) for pk in photo_ids for liked in (True, False)]
    rows = {
        v.digest(): Contribution(digest=v.digest(), vector_cities=v.cities_bytes(), vector_values=v.values_bytes())
        for v in vectors
    }
    Contribution.objects.bulk_create(rows.values(), batch_size=500, ignore_conflicts=True)
    return len(rows)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
