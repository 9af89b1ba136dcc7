"""bench/gc_pauses.py, tiny: it swipes both ways, and gc.freeze() leaves the collector nothing from start-up."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def require_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark runs against PostgreSQL: set DATABASE_URL=postgres://... (CI does)")


def test_it_swipes_as_loaded_and_frozen_and_reports_both():
    db = settings.DATABASES["default"]
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/cityvibes_bench_test_gc"
    command = [
        *(sys.executable, "-m", "bench.gc_pauses", "--swipes", "30", "--rounds", "1"),
        *(
            "--cities",
            "12",
            "--photos",
            "60",
            "--database-url",
            database_url,
            "--cache-url",
            "redis://127.0.0.1:6379/10",
        ),
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]

    tracked = dict(re.findall(r"^(as loaded|frozen) +([\d,]+) ", run.stdout, flags=re.M))
    assert int(tracked["as loaded"].replace(",", "")) > 50_000, run.stdout  # Django, DRF, every view
    assert int(tracked["frozen"].replace(",", "")) < 1_000, run.stdout  # all of it out of the collector's reach
    assert "longest full collection, frozen / as loaded:" in run.stdout
