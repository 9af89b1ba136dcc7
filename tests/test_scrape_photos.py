"""manage.py scrape_photos: harvesting freely licensed photos from (a local stand-in for) Wikimedia Commons."""

import io
import threading

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from photos.http import ClientConfig, FetchError, PoliteClient
from photos.models import IngestReject, Photo
from photos.sources import get_source, is_free_licence
from photos.tasks import harvest_photos_task
from tests.commons_server import API_PATH, CommonsFile, CommonsServer
from tests.factories import image_bytes, make_city

pytestmark = pytest.mark.django_db

PORTLAND_CATEGORY = "Category:Portland, Oregon"


@pytest.fixture
def commons(settings):
    with CommonsServer() as server:
        settings.CITYVIBES_WIKIMEDIA_API_URL = server.api_url
        settings.CITYVIBES_HARVEST_CONTACT = "harvest-test@example.org"
        settings.CITYVIBES_HARVEST_MIN_INTERVAL = 0
        settings.CITYVIBES_HARVEST_BACKOFF_BASE = 0.01
        settings.CITYVIBES_HARVEST_MAX_RETRIES = 3
        yield server


@pytest.fixture
def portland():
    return make_city("Portland", region="OR")


def photo_file(name: str, **details) -> CommonsFile:
    return CommonsFile(name=name, body=details.pop("body", None) or image_bytes(), **details)


def run(*args: str, out: io.StringIO | None = None) -> str:
    out = out or io.StringIO()
    call_command("scrape_photos", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def total_row(output: str) -> list[int]:
    line = next(line for line in output.splitlines() if line.startswith("Total"))
    return [int(n) for n in line.split()[1:]]


def test_it_harvests_free_photos_with_author_and_licence(commons, portland):
    files = [photo_file(f"Portland {i}.jpg") for i in range(3)]
    files[0].description = "<p>The <b>Steel Bridge</b> at night</p>"
    commons.categories[PORTLAND_CATEGORY] = files

    output = run("--cities", "Portland, OR", "--per-city", "3")

    # had, found, imported, duplicates, skipped, rejected, failed, missing
    assert total_row(output) == [0, 3, 3, 0, 0, 0, 0, 0]
    assert "Portland (OR, US)" in output
    photo = Photo.objects.get(page_url=files[0].page_url)
    assert photo.city == portland
    assert photo.source == "wikimedia"
    assert photo.author == "Jane Doe"
    assert photo.licence == "CC BY-SA 4.0"
    assert photo.licence_url == "https://creativecommons.org/licenses/by-sa/4.0"
    assert photo.title == "The Steel Bridge at night"
    assert photo.source_url == commons.base + commons.thumb_path(files[0])
    assert Photo.objects.get(page_url=files[1].page_url).title == "Portland 1"
    with photo.image.open() as stored:
        assert Image.open(stored).format == "JPEG"


def test_it_keeps_no_licence_link_that_is_not_http(commons, portland):
    commons.categories[PORTLAND_CATEGORY] = [photo_file("Portland.jpg", licence_url="javascript:alert(1)")]
    run("--cities", "Portland, OR", "--per-city", "1")
    photo = Photo.objects.get()
    assert photo.licence == "CC BY-SA 4.0" and photo.licence_url == ""


def test_it_asks_for_bounded_thumbnails_and_never_downloads_originals(commons, portland):
    commons.categories[PORTLAND_CATEGORY] = [photo_file("Big.jpg", width=8000, height=6000)]
    run("--cities", "Portland, OR", "--per-city", "1")
    assert Photo.objects.get().source_url == commons.base + "/thumb/1024px-Big.jpg"
    assert commons.api_calls()[0]["iiurlwidth"] == "1024"
    assert "extmetadata" in commons.api_calls()[0]["iiprop"]
    assert [seen.path for seen in commons.requests if not seen.path.startswith(("/thumb/", API_PATH))] == []


def test_it_identifies_itself_with_a_contact_address(commons, portland):
    commons.categories[PORTLAND_CATEGORY] = [photo_file("A.jpg")]
    run("--cities", "Portland, OR", "--per-city", "1")
    agents = {seen.headers["User-Agent"] for seen in commons.requests}
    assert len(agents) == 1
    assert "harvest-test@example.org" in agents.pop()


def test_it_follows_continuation_from_category_to_search(commons, portland):
    commons.max_limit = 2
    commons.categories[PORTLAND_CATEGORY] = [photo_file(f"Category {i}.jpg") for i in range(3)]
    commons.searches["Portland"] = [photo_file(f"Search {i}.jpg") for i in range(3)]

    output = run("--cities", "Portland, OR", "--per-city", "6")

    assert total_row(output)[2] == 6
    calls = commons.api_calls()
    assert [c.get("gcmcontinue", c.get("gsroffset")) for c in calls if c["generator"] != "categorymembers"] == [
        None,
        "2",
    ]
    category_calls = [c for c in calls if c.get("gcmtitle") == PORTLAND_CATEGORY]
    assert len(category_calls) == 2 and "gcmcontinue" in category_calls[1]
    assert all(c["gsrnamespace"] == "6" and "Oregon" in c["gsrsearch"] for c in calls if c["generator"] == "search")


def test_it_stops_asking_once_a_city_has_enough(commons, portland):
    commons.max_limit = 2
    commons.categories[PORTLAND_CATEGORY] = [photo_file(f"P{i}.jpg") for i in range(10)]
    run("--cities", "Portland, OR", "--per-city", "2")
    assert len(commons.api_calls()) == 1
    assert Photo.objects.count() == 2


def test_it_skips_photos_that_are_not_freely_licensed(commons, portland):
    non_free = photo_file("No derivatives.jpg", licence="CC BY-NC 2.0")
    commons.categories[PORTLAND_CATEGORY] = [non_free, photo_file("Free.jpg", licence="CC0")]

    output = run("--cities", "Portland, OR", "--per-city", "2")

    assert total_row(output)[2] == 1
    assert "1 × licence not accepted" in output
    assert commons.hits(commons.thumb_path(non_free)) == []
    assert IngestReject.objects.get(reference=non_free.page_url).reason == "licence not accepted: CC BY-NC 2.0"
    assert Photo.objects.get().licence == "CC0"


def test_it_waits_as_told_by_retry_after_on_429_then_succeeds(commons, portland):
    file = photo_file("Busy.jpg")
    commons.categories[PORTLAND_CATEGORY] = [file]
    commons.fail(commons.thumb_path(file), 429, times=1, Retry_After="1")

    run("--cities", "Portland, OR", "--per-city", "1")

    first, second = commons.hits(commons.thumb_path(file))
    assert second.started - first.finished >= 0.9
    assert Photo.objects.get().page_url == file.page_url


def test_it_gives_up_cleanly_when_the_api_fails_forever(commons, portland):
    make_city("Denver", region="CO")
    commons.fail(API_PATH, 500)

    with pytest.raises(CommandError, match=r"the source failed for every city: HTTP 500 \(gave up after 4 attempts\)"):
        run("--cities", "Portland, OR, Denver", "--per-city", "2")

    assert len(commons.api_calls()) == 8  # 1 try + 3 retries, for each city
    assert Photo.objects.count() == 0 and IngestReject.objects.count() == 0


def test_it_moves_on_to_the_next_city_when_one_gets_answers_it_cannot_use(commons, portland):
    make_city("Denver", region="CO")
    commons.raw_categories[PORTLAND_CATEGORY] = {"query": {"pages": {"1": {"title": "File:X.jpg", "imageinfo": 7}}}}
    commons.categories["Category:Denver, Colorado"] = [photo_file("Union Station.jpg")]

    output = run("--cities", "Portland, OR, Denver", "--per-city", "1")

    portland_line = next(line for line in output.splitlines() if line.startswith("Portland"))
    assert "Commons API: a page of unexpected shape" in portland_line
    assert Photo.objects.get().city.name == "Denver"


def test_it_keeps_going_when_one_download_fails_forever_and_retries_it_next_run(commons, portland):
    broken, fine = photo_file("Broken.jpg"), photo_file("Fine.jpg")
    commons.categories[PORTLAND_CATEGORY] = [broken, fine]
    commons.fail(commons.thumb_path(broken), 503)

    output = run("--cities", "Portland, OR", "--per-city", "2")

    assert total_row(output)[2:] == [1, 0, 0, 0, 1, 1]
    assert "1 × HTTP 503" in output
    assert not IngestReject.objects.exists()  # transient: not remembered as a reject
    commons.failures.clear()
    run("--cities", "Portland, OR", "--per-city", "2")
    assert Photo.objects.count() == 2
    assert len(commons.hits(commons.thumb_path(fine))) == 1


def test_it_ends_a_citys_turn_after_three_failed_downloads_in_a_row(commons, portland):
    files = [photo_file(f"Down {i}.jpg") for i in range(5)]
    commons.categories[PORTLAND_CATEGORY] = files
    for file in files:
        commons.fail(commons.thumb_path(file), 502)

    out = io.StringIO()
    with pytest.raises(CommandError, match="source failed for every city: 3 downloads in a row failed"):
        run("--cities", "Portland, OR", "--per-city", "5", out=out)

    assert "the last with HTTP 502 (gave up after 4 attempts)" in out.getvalue()  # the table's note
    assert "3 × HTTP 502" in out.getvalue()
    assert commons.hits(commons.thumb_path(files[3])) == []


@pytest.mark.parametrize(
    ("body", "mime", "reason"),
    [
        (b"<!DOCTYPE html><html><body>Please log in</body></html>", "image/jpeg", "not an image"),
        (image_bytes(size=(640, 480))[:700], "image/jpeg", "broken image"),
    ],
    ids=["html-page", "truncated-jpeg"],
)
def test_it_rejects_what_is_not_a_whole_image(commons, portland, body, mime, reason):
    bad = CommonsFile(name="Bad.jpg", body=body, mime=mime)
    commons.categories[PORTLAND_CATEGORY] = [bad, photo_file("Good.jpg")]

    output = run("--cities", "Portland, OR", "--per-city", "2")

    assert total_row(output)[2:6] == [1, 0, 0, 1]
    assert f"1 × {reason}" in output
    assert IngestReject.objects.get(source="wikimedia", reference=bad.page_url).reason.startswith(reason)


def test_it_refuses_a_decompression_bomb(commons, portland, settings):
    settings.CITYVIBES_MAX_IMAGE_PIXELS = 1_000_000
    bomb = io.BytesIO()
    Image.new("L", (4000, 4000)).save(bomb, format="PNG")  # 16 Mpx in a few KB
    assert len(bomb.getvalue()) < 50_000
    commons.categories[PORTLAND_CATEGORY] = [CommonsFile(name="Bomb.png", body=bomb.getvalue(), mime="image/png")]

    output = run("--cities", "Portland, OR", "--per-city", "1")

    assert "1 × too many pixels" in output
    assert Photo.objects.count() == 0


def test_it_stores_the_same_bytes_once_and_remembers_the_duplicate(commons, portland):
    same = image_bytes()
    commons.categories[PORTLAND_CATEGORY] = [photo_file("One.jpg", body=same), photo_file("Copy.jpg", body=same)]

    output = run("--cities", "Portland, OR", "--per-city", "2")

    assert total_row(output)[2:4] == [1, 1]
    assert Photo.objects.count() == 1
    downloads = len([seen for seen in commons.requests if seen.path.startswith("/thumb/")])
    run("--cities", "Portland, OR", "--per-city", "2")
    assert len([seen for seen in commons.requests if seen.path.startswith("/thumb/")]) == downloads


def noisy_jpeg() -> bytes:
    """About 170 KB of JPEG: noise does not compress."""
    buffer = io.BytesIO()
    Image.effect_noise((640, 480), 80).convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()


def test_it_resumes_an_interrupted_run_fetching_only_what_is_missing(commons, portland, settings):
    files = [photo_file(f"Resume {i}.jpg", body=noisy_jpeg()) for i in range(4)]
    commons.categories[PORTLAND_CATEGORY] = files
    # Room for the API answer and two photos: the run stops while downloading the third.
    settings.CITYVIBES_HARVEST_MAX_TOTAL_BYTES = len(files[0].body) + len(files[1].body) + len(files[2].body) // 2

    with pytest.raises(CommandError, match="stopped early: byte cap for this run reached"):
        run("--cities", "Portland, OR", "--per-city", "4")
    assert set(Photo.objects.values_list("page_url", flat=True)) == {files[0].page_url, files[1].page_url}

    settings.CITYVIBES_HARVEST_MAX_TOTAL_BYTES = 10_000_000
    output = run("--cities", "Portland, OR", "--per-city", "4")

    assert total_row(output)[:3] == [2, 4, 2]  # had 2, looked at 4 (2 skipped), imported 2
    assert Photo.objects.count() == 4
    assert [len(commons.hits(commons.thumb_path(file))) for file in files] == [1, 1, 2, 1]
    api_calls = len(commons.api_calls())
    run("--cities", "Portland, OR", "--per-city", "4")
    assert len(commons.api_calls()) == api_calls  # nothing missing: not even an API call


def test_it_lists_what_it_would_fetch_in_a_dry_run(commons, portland):
    files = [photo_file("Dry 1.jpg"), photo_file("Dry 2.jpg", licence="CC BY-ND 4.0")]
    commons.categories[PORTLAND_CATEGORY] = files

    output = run("--cities", "Portland, OR", "--per-city", "5", "--dry-run")

    assert "would fetch" in output
    assert commons.base + commons.thumb_path(files[0]) in output
    assert commons.thumb_path(files[1]) not in output
    assert [seen.path for seen in commons.requests if seen.path != API_PATH] == []
    assert not Photo.objects.exists() and not IngestReject.objects.exists()


def test_it_tells_same_name_cities_apart(commons, portland):
    maine = make_city("Portland", region="ME")
    maine.population, portland.population = 66_000, 650_000
    maine.save(), portland.save()
    commons.categories["Category:Portland, Maine"] = [photo_file("Old Port.jpg")]

    run("--cities", "Portland, ME", "--per-city", "2")  # asks for more than its category has

    assert Photo.objects.get().city == maine
    titles = [c.get("gcmtitle") for c in commons.api_calls()]
    assert "Category:Portland" not in titles  # the bare name belongs to the bigger Portland
    with pytest.raises(CommandError, match="'Portland' is ambiguous"):
        run("--cities", "Portland")


def test_it_fails_with_a_one_line_reason(commons, portland):
    with pytest.raises(CommandError, match="unknown source 'flickr'"):
        run("--cities", "all", "--source", "flickr")
    with pytest.raises(CommandError, match="unknown city 'Atlantis'"):
        run("--cities", "Atlantis")
    with pytest.raises(CommandError, match="--per-city must be 1 or more"):
        run("--cities", "all", "--per-city", "0")
    portland.delete()
    with pytest.raises(CommandError, match="no cities to harvest"):
        run("--cities", "all")


def test_it_runs_as_a_celery_task(commons, portland):
    commons.categories[PORTLAND_CATEGORY] = [photo_file("Task 1.jpg"), photo_file("Task 2.jpg")]

    result = harvest_photos_task.apply(args=[[portland.pk], "wikimedia", 2]).get()

    assert result["cities"][0]["imported"] == 2
    assert result["cities"][0]["city"] == "Portland (OR, US)"
    assert Photo.objects.filter(city=portland).count() == 2


# --- the polite HTTP client -----------------------------------------------------------------


def client_for(*origins: str, **config) -> PoliteClient:
    return PoliteClient(allowed_origins=origins, config=ClientConfig(min_interval=0, backoff_base=0.01, **config))


def test_it_uses_https_only_to_wikimedia_hosts_by_default():
    source = get_source("wikimedia")
    assert source.client.allowed_origins == {"https://commons.wikimedia.org", "https://upload.wikimedia.org"}


def test_it_refuses_plain_http_when_the_configured_base_is_https(commons):
    client = client_for(commons.base.replace("http://", "https://"))
    with pytest.raises(FetchError, match="URL not allowed"):
        client.get(commons.api_url)
    assert commons.requests == []


def test_it_follows_redirects_only_to_allowed_hosts(commons):
    file = photo_file("Moved.jpg")
    commons.categories["Category:X"] = [file]
    commons.routes["/moved"] = (302, {"Location": commons.thumb_path(file)}, b"")
    commons.routes["/away"] = (302, {"Location": "https://evil.example/steal.jpg"}, b"")
    client = client_for(commons.base)

    assert client.get(commons.base + "/moved").body == file.body
    with pytest.raises(FetchError, match="URL not allowed for this source: https://evil.example"):
        client.get(commons.base + "/away")


@pytest.mark.parametrize(
    ("declared", "message"),
    [(True, r"response too large \(\d+ bytes > "), (False, r"response too large \(over \d+ bytes")],
    ids=["refused-from-content-length", "cut-off-while-reading"],
)
def test_it_caps_the_bytes_of_a_response(commons, declared, message):
    commons.send_lengths = declared
    file = photo_file("Large.jpg", body=image_bytes(size=(800, 600)))
    commons.categories["Category:X"] = [file]
    with pytest.raises(FetchError, match=message):
        client_for(commons.base).get(commons.base + commons.thumb_path(file), max_bytes=len(file.body) - 1)


def test_it_sends_one_request_at_a_time_with_a_pause_between(commons):
    commons.delay = 0.1
    commons.routes["/ok"] = (200, {"Content-Type": "text/plain"}, b"ok")
    client = PoliteClient(allowed_origins=[commons.base], config=ClientConfig(min_interval=0.2))
    threads = [threading.Thread(target=client.get, args=(f"{commons.base}/ok",)) for _ in range(2)]
    assert client.get(commons.base + "/ok").body == b"ok"
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen = sorted(commons.requests, key=lambda s: s.started)
    assert len(seen) == 3
    for before, after in zip(seen, seen[1:]):
        assert after.started - before.finished >= 0.19


@pytest.mark.parametrize(
    ("short_name", "free"),
    [
        ("CC BY-SA 4.0", True),
        ("CC BY 2.0", True),
        ("CC BY-SA 3.0 de", True),
        ("CC0", True),
        ("Public domain", True),
        ("PD-US", True),
        ("CC BY-NC 2.0", False),
        ("CC BY-NC-SA 4.0", False),
        ("CC BY-ND 2.0", False),
        ("Fair use", False),
        ("GFDL", False),
        ("", False),
    ],
)
def test_it_keeps_only_free_licences(short_name, free):
    assert is_free_licence(short_name) is free
