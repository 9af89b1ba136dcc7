"""manage.py starter (scripts/run --starter): catalogue, Commons harvest, training and predictions in one
command, against a local Commons-shaped server; a re-run resumes; offline, one line says what to do."""

import html
import io
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ml.models import ModelVersion
from photos.catalogue import STARTER_CITIES
from photos.models import City, Photo
from tests.commons_server import CommonsFile, CommonsServer
from tests.factories import image_bytes, make_photo

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
CITIES = [name for name, _ in STARTER_CITIES[:3]]  # New York City, Miami, Las Vegas
AUTHORS = {"CC BY 4.0": "Ana Lens", "CC BY-SA 3.0": "Bo Shutter", "CC0": "Cy Aperture"}
LICENCE_URLS = {
    "CC BY 4.0": "https://creativecommons.org/licenses/by/4.0",
    "CC BY-SA 3.0": "https://creativecommons.org/licenses/by-sa/3.0",
    "CC0": "https://creativecommons.org/publicdomain/zero/1.0",
}


@pytest.fixture
def commons(settings):
    """Commons with 8 photo-like files per starter city, found by the full-text search, from 3 photographers."""
    with CommonsServer() as server:
        settings.CITYVIBES_WIKIMEDIA_API_URL = server.api_url
        settings.CITYVIBES_HARVEST_MIN_INTERVAL = 0
        settings.CITYVIBES_HARVEST_BACKOFF_BASE = 0.01
        for c, city in enumerate(CITIES):
            server.searches[city] = [
                CommonsFile(
                    name=f"{city} street {i}.jpg",
                    body=image_bytes(seed=1000 + 10 * c + i),
                    licence=licence,
                    licence_url=LICENCE_URLS[licence],
                    artist=f'<a href="//commons.wikimedia.org/wiki/User:X">{AUTHORS[licence]}</a>',
                )
                for i, licence in zip(range(8), [*AUTHORS] * 3)
            ]
        yield server


def starter(*args: str) -> str:
    out = io.StringIO()
    call_command("starter", "--cities", "3", "--epochs", "3", *args, "--no-progress", stdout=out)
    return out.getvalue()


def first_card(client) -> tuple[str, str]:
    """The swipe page's first card's credit line, and the JSON of the cards that follow it."""
    page = client.get("/").content.decode()
    credit = re.search(r'<p class="credit">(.*?)</p>', page, re.S).group(1)
    upcoming = re.search(r'<script id="upcoming-photos" type="application/json">(.*?)</script>', page, re.S).group(1)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", credit)).split()), upcoming


def test_it_goes_from_nothing_to_a_swipe_page_of_real_credited_photos_and_resumes(commons, client):
    call_command("demo_photos", "--cities", "1", "--per-city", "2", "--no-progress", stdout=io.StringIO())

    first = starter("--per-city", "6")

    for stage in ("[1/4] City catalogue", "[2/4] Photos from Wikimedia Commons: 3 cities, 6 photos each"):
        assert stage in first
    assert "starter cities: New York City, Miami, Las Vegas" in first and "added 18 photos" in first
    assert "hid the 2 generated demo pictures" in first
    assert "trained efficientnet_lite0-" in first and "predicted 20 photos" in first  # the hidden demo ones too
    version = ModelVersion.objects.get(is_active=True)
    assert Photo.objects.filter(source="wikimedia", probabilities__isnull=False, model_version=version).count() == 18

    # Asked for more: only what is missing is fetched; the model learns again and predicts every photo anew.
    downloads = len([seen for seen in commons.requests if seen.path.startswith("/thumb/")])
    second = starter("--per-city", "8")
    assert "added 6 photos" in second and "trained efficientnet_lite0-" in second and "predicted 26 photos" in second
    assert len([seen for seen in commons.requests if seen.path.startswith("/thumb/")]) == downloads + 6
    assert ModelVersion.objects.count() == 2

    # Nothing missing: no request at all, no training, nothing to predict.
    requests = len(commons.requests)
    third = starter("--per-city", "8")
    assert "every city has its 8 photos already" in third
    assert "skipped: the active model" in third and "learnt from these 24 photos already" in third
    assert "every photo is predicted already" in third
    assert len(commons.requests) == requests and ModelVersion.objects.count() == 2

    credit, upcoming = first_card(client)
    assert any(credit == f"{author} · {licence}" for licence, author in AUTHORS.items()), credit
    cards = json.loads(upcoming)
    assert {card["credit"]["source"] for card in cards} == {"wikimedia"}
    assert all(card["credit"]["licence_url"] == LICENCE_URLS[card["credit"]["licence"]] for card in cards)
    assert all(card["credit"]["author"] == AUTHORS[card["credit"]["licence"]] for card in cards)
    assert all(card["credit"]["page_url"].startswith("https://commons.wikimedia.org/wiki/File:") for card in cards)
    assert 'id="demo-banner"' not in client.get("/").content.decode()  # the demo pictures were hidden


def test_it_stops_with_a_one_line_reason_when_the_harvest_is_cut_short_and_a_rerun_carries_on(commons, settings):
    settings.CITYVIBES_HARVEST_MAX_TOTAL_BYTES = 60_000  # room for the API answers and a few photos

    with pytest.raises(CommandError, match="the harvest stopped early: byte cap .*; run it again to carry on"):
        starter("--per-city", "5")
    kept = Photo.objects.count()
    assert 0 < kept < 15 and not ModelVersion.objects.exists()

    settings.CITYVIBES_HARVEST_MAX_TOTAL_BYTES = 50_000_000
    assert f"added {15 - kept} photos" in starter("--per-city", "5")
    assert Photo.objects.count() == 15 and ModelVersion.objects.filter(is_active=True).exists()


def test_it_goes_on_with_the_photos_it_has_when_commons_cannot_be_reached_on_a_rerun(settings):
    settings.CITYVIBES_WIKIMEDIA_API_URL = f"http://127.0.0.1:{closed_port()}/w/api.php"
    call_command("load_cities", stdout=io.StringIO())
    for name, region in STARTER_CITIES[:2]:
        city = City.objects.get(name=name, region=region)
        for _ in range(5):
            make_photo(city, source="wikimedia", author="Ana Lens", licence="CC0")

    output = starter("--cities", "2", "--per-city", "6", "--epochs", "1")

    assert "Wikimedia Commons cannot be reached (network error: [Errno 111] Connection refused): " in output
    assert "going on with the 10 photos from before" in output
    assert "predicted 10 photos" in output


def test_it_refuses_sizes_the_model_cannot_learn_from_in_one_line():
    with pytest.raises(CommandError, match="the model needs --cities 2 or more, --per-city 5 or more"):
        call_command("starter", "--cities", "1", stdout=io.StringIO())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def test_it_says_in_one_line_that_commons_cannot_be_reached_and_points_to_the_demo(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/offline.db",
        "CITYVIBES_WIKIMEDIA_API_URL": f"http://127.0.0.1:{closed_port()}/w/api.php",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    result = subprocess.run(
        [sys.executable, "manage.py", "starter"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "CommandError: Wikimedia Commons cannot be reached (network error: [Errno 111] Connection refused). "
        "Without internet, try the generated demo instead: scripts/run --demo"
    ]
    assert "[2/4] Photos from Wikimedia Commons" in result.stdout
