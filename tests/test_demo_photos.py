"""manage.py demo_photos (scripts/run --demo): generated pictures that say what they are."""

import io

import pytest
from django.core.management import CommandError, call_command

from photos.models import Photo

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_photos", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_it_adds_generated_pictures_credited_as_generated():
    output = run("--cities", "2", "--per-city", "3")

    assert output.startswith("Added 6 generated demo pictures of 2 cities (0 already there)")
    assert "not photos of the cities" in output
    photos = Photo.objects.select_related("city")
    assert sorted({p.city.name for p in photos}) == ["Denver", "Miami"]
    assert {(p.source, p.author, p.licence) for p in photos} == {("demo", "generated demo image", "")}
    assert {p.alt_text for p in photos} == {"Generated demo picture for Denver", "Generated demo picture for Miami"}


def test_it_adds_nothing_new_on_a_rerun():
    run("--cities", "1", "--per-city", "2")
    assert "Added 0 generated demo pictures of 1 cities (2 already there)" in run("--cities", "1", "--per-city", "2")
    assert Photo.objects.count() == 2


def test_it_refuses_impossible_sizes_in_one_line():
    with pytest.raises(CommandError, match="--cities must be 1 to 8 and --per-city 1 or more"):
        run("--cities", "9")
