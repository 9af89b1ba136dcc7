"""What scripts/run says about the collection before it starts the app (manage.py collection_status)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from photos.management.commands.collection_status import HOW_TO_GET_PHOTOS
from tests.factories import make_city, make_photo

ROOT = Path(__file__).resolve().parent.parent


def status() -> str:
    out = io.StringIO()
    call_command("collection_status", stdout=out)
    return out.getvalue()


def script_step(name: str) -> str:
    """The line of scripts/run that runs `manage.py NAME`, with this test's Python for the venv's."""
    line = next(line for line in (ROOT / "scripts/run").read_text().splitlines() if f"manage.py {name}" in line)
    return line.replace(".venv/bin/python", sys.executable)


def test_it_prints_the_empty_collection_hint_from_the_script_on_a_new_database(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/new.db"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    result = subprocess.run(
        ["bash", "-c", script_step("collection_status")], cwd=ROOT, env=env, capture_output=True, text=True
    )

    # Django 5.2's `shell -c` printed "N objects imported automatically" first, and the hint never showed.
    assert result.returncode == 0, result.stderr
    assert result.stdout == HOW_TO_GET_PHOTOS + "\n"
    assert "scripts/run --starter" in result.stdout and "scripts/run --demo" in result.stdout


@pytest.mark.django_db
def test_it_counts_the_photos_and_cities_to_swipe():
    denver = make_city("Denver")
    make_photo(denver, source="folder"), make_photo(denver, source="folder"), make_photo(make_city("Miami"))
    hidden = make_photo(denver)
    hidden.hidden = True
    hidden.save()

    assert status() == "3 photos of 2 cities to swipe (1 more hidden or unlabelled).\n"


@pytest.mark.django_db
def test_it_says_when_every_photo_is_a_generated_demo_picture():
    make_photo(make_city("Denver"), source="demo")
    assert "generated demo pictures: for real photos, run scripts/run --starter" in status()
    make_photo(make_city("Miami"), source="wikimedia")
    assert "demo" not in status()
