"""The benchmarks in bench/ run, tiny: every phase of each, against real gunicorn, PostgreSQL and Redis."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.postgres(reason="the benchmarks run against PostgreSQL")


def run_benchmark(module: str, database: str, *args: str) -> str:
    """`python -m module args` on its own database (on the tests' server) and Redis database 10; its output."""
    db = settings.DATABASES["default"]
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{database}"
    command = [sys.executable, "-m", module, *args, "--database-url", database_url]
    command += ["--cache-url", "redis://127.0.0.1:6379/10"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_swipe_load_prints_every_phase_the_ratios_and_that_nothing_was_lost():
    out = run_benchmark(
        "bench.swipe_load",
        "cityvibes_bench_test_load",
        *("--users", "4", "--duration", "1", "--rounds", "1", "--warmup", "0.3", "--cities", "12", "--photos", "300"),
    )
    rows = {}
    for line in out.splitlines():
        found = re.match(r"^(\w+) +((?:GET|POST) \S+(?: \+ next)?) +(\d+) +\S+ +\S+ +\S+ +(\d+) ", line)
        if found:
            rows[found.group(1), found.group(2)] = (int(found.group(3)), int(found.group(4)))
    for row in [
        ("ceiling", "GET /healthz"),
        ("floor", "GET /bench/floor"),
        ("bare", "POST /bench/bare"),
        ("swipe", "POST /api/swipes"),
        ("loop", "POST swipes + next"),
    ]:
        requests_per_second, errors = rows.get(row, (0, -1))
        assert requests_per_second > 0 and errors == 0, (row, out)
    assert re.search(r"^swipe endpoint / ceiling throughput: \d\.\d\d", out, flags=re.M), out
    assert re.search(r"^bare swipe \(POST JSON, session, one INSERT\) / ceiling throughput: \d\.\d\d", out, re.M)
    assert "note: the targets are set at 32 users; this run had 4" in out
    assert "recompute_scores --check over" in out and ": 0 drifted (must be 0)" in out
    acknowledged = re.search(r"swipes acknowledged to clients \(201\): (\d+); live swipes in the log: (\d+)", out)
    assert int(acknowledged.group(1)) > 0 and acknowledged.group(1) == acknowledged.group(2)
    assert "(nothing lost)" in out


def test_gc_pauses_swipes_as_loaded_and_frozen_and_the_freeze_leaves_the_collector_nothing_from_start_up():
    out = run_benchmark(
        "bench.gc_pauses",
        "cityvibes_bench_test_gc",
        *("--swipes", "30", "--rounds", "1", "--cities", "12"),
        "--photos=60",
    )
    tracked = dict(re.findall(r"^(as loaded|frozen) +([\d,]+) ", out, flags=re.M))
    assert int(tracked["as loaded"].replace(",", "")) > 50_000, out  # Django, DRF, every view
    assert int(tracked["frozen"].replace(",", "")) < 1_000, out  # all of it out of the collector's reach
    assert "longest full collection, frozen / as loaded:" in out
