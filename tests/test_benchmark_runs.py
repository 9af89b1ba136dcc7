"""The guard benchmark runs, tiny: every phase against real gunicorn, PostgreSQL and Redis."""

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


def test_swipe_load_prints_every_phase_the_guard_lines_and_that_nothing_was_lost():
    out = run_benchmark(
        "bench.swipe_load",
        "cityvibes_bench_test_load",
        *("--users", "4", "--duration", "1", "--rounds", "1", "--warmup", "0.3", "--think", "0.1"),
        *("--cities", "12", "--photos", "300"),
    )
    rates = dict(re.findall(r"^(bare|swipe|paced) +(?:POST \S+(?: \+ next, paced)?) +(\d+) ", out, flags=re.M))
    assert set(rates) == {"bare", "swipe", "paced"} and all(int(r) > 0 for r in rates.values()), out
    assert re.search(r"^swipe / bare: \d\.\d\d", out, flags=re.M), out
    assert re.search(r"^swipe p99 at a human pace, 4 users: [\d.]+ ms", out, flags=re.M), out
    assert ": 0 drifted  (guard: 0)" in out
    acknowledged = re.search(r"swipes acknowledged \(201\): (\d+); live swipes in the log: (\d+)", out)
    assert int(acknowledged.group(1)) > 0 and acknowledged.group(1) == acknowledged.group(2)
    assert "(each logged exactly once)" in out


def test_discovery_through_the_http_api_prints_the_apps_row_beside_the_in_process_one():
    out = run_benchmark(
        "bench.discovery_http",
        "cityvibes_bench_test_http",
        *("--users", "2", "--cities", "24", "--collections", "a", "--populations", "kind"),
    )
    assert re.search(r"^\| through the HTTP API \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|", out, flags=re.M), out
    assert re.search(r"^\| taste in process \(bench/discovery.py\) \| [\d.]+ \|", out, flags=re.M), out
