"""The quality gate: drawings, maps, banners and near-duplicates stay out; photographs come in.

It runs wherever photos come in (folder import, harvest, identify's "add my photo"), with both
checks on here: image statistics (photos.quality) and the backbone's ImageNet head (ml.checks).
"""

import io
import random

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from PIL import ImageEnhance

from photos.demo import DEMO_CITIES, draw_photo
from photos.models import IngestReject, Photo
from photos.quality import hamming_distances, perceptual_hash
from photos.services import PhotoCredit, ingest_photo
from tests.commons_server import CommonsFile, CommonsServer
from tests.drawings import encoded, junk_pictures, real_photo, real_photos
from tests.factories import make_city, make_tiny_model

pytestmark = pytest.mark.django_db

BOTH_CHECKS = ["photos.quality.looks_drawn", "ml.checks.imagenet_says_not_a_photo"]


@pytest.fixture(autouse=True)
def both_checks(settings):
    settings.CITYVIBES_PHOTO_CHECKS = BOTH_CHECKS


def import_folder_of(tmp_path, pictures: dict[str, bytes], *args: str) -> str:
    (tmp_path / "Denver").mkdir(parents=True)
    for name, data in pictures.items():
        (tmp_path / "Denver" / name).write_bytes(data)
    out = io.StringIO()
    call_command("import_photos", str(tmp_path), "--no-progress", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def ingest(data: bytes, reference: str = "") -> object:
    return ingest_photo(data=data, city=None, credit=PhotoCredit(source="test"), reference=reference)


def test_it_refuses_drawings_and_lets_real_photos_in_on_import(tmp_path):
    junk, photos = junk_pictures(), real_photos()

    output = import_folder_of(tmp_path, {**junk, **photos})

    assert f"Imported {len(photos)}, duplicates 0, rejected {len(junk)}" in output
    assert "Quality gate: refused 7 of 11 readable images (64%)" in output
    assert Photo.objects.count() == len(photos)
    reasons = dict(IngestReject.objects.values_list("reference", "reason"))
    assert set(reasons) == {f"Denver/{name}" for name in junk}
    assert all(reason.startswith("not a photo: ") for reason in reasons.values())
    assert "text or diagram" in reasons["Denver/text-banner.png"]
    assert "clip art, logo, flag or map" in reasons["Denver/map.png"]


def test_the_imagenet_head_alone_knows_banners_and_coats_of_arms(settings):
    settings.CITYVIBES_PHOTO_CHECKS = ["ml.checks.imagenet_says_not_a_photo"]
    junk = junk_pictures()

    banner = ingest(junk["text-banner.jpg"], reference="banner")
    arms = ingest(junk["coat-of-arms.png"], reference="arms")

    assert banner.status == "rejected" and banner.gated
    assert banner.reason.startswith("not a photo: looks like a text banner (ImageNet: web site ")
    assert arms.reason.startswith("not a photo: looks like a logo or cover (ImageNet: envelope ")
    for name in ("china.jpg", "flower.jpg"):
        assert ingest(real_photos()[name]).status == "imported", name


def test_it_refuses_a_near_duplicate_of_a_stored_photo(settings):
    original = ingest(real_photos()["china.jpg"])
    assert original.status == "imported"
    china = real_photo("china")
    smaller = encoded(china.resize((426, 284)), "JPEG", quality=70)
    brighter = encoded(ImageEnhance.Brightness(china).enhance(1.15), "JPEG", quality=80)

    for data in (smaller, brighter):
        result = ingest(data, reference="copy")
        assert result.status == "rejected" and result.gated
        assert result.reason.startswith(f"near-duplicate: photo {original.photo.pk} differs in ")
    assert ingest(real_photos()["china-sky.jpg"]).status == "imported"  # a part of it is another picture

    settings.CITYVIBES_NEAR_DUPLICATE_BITS = -1
    assert ingest(smaller).status == "imported"


def test_it_lets_generated_demo_pictures_in_only_with_the_gate_off(tmp_path):
    _, base, accent, motif = DEMO_CITIES[0]
    rng = random.Random(3)
    demo = {f"{i}.jpg": encoded(draw_photo(rng, base, accent, motif), "JPEG", quality=88) for i in range(3)}

    with pytest.raises(CommandError, match="none of the 3 files could be imported"):
        import_folder_of(tmp_path / "a", demo)
    assert all("clip art" in reason for reason in IngestReject.objects.values_list("reason", flat=True))
    output = import_folder_of(tmp_path / "b", demo, "--no-quality-gate")
    assert "Imported 3, duplicates 0, rejected 0" in output and "Quality gate: off" in output


def test_it_reports_the_share_of_a_harvest_it_refuses(settings):
    portland = make_city("Portland", region="OR")
    junk, photos = junk_pictures(), real_photos()
    files = [CommonsFile(name=name, body=data) for name, data in [*photos.items(), *list(junk.items())[:4]]]
    with CommonsServer() as commons:
        settings.CITYVIBES_WIKIMEDIA_API_URL = commons.api_url
        settings.CITYVIBES_HARVEST_CONTACT = "harvest-test@example.org"
        settings.CITYVIBES_HARVEST_MIN_INTERVAL = 0
        commons.categories["Category:Portland, Oregon"] = files
        out = io.StringIO()
        call_command("scrape_photos", "--cities", "Portland, OR", "--per-city", "8", "--no-progress", stdout=out)
        downloads = len([seen for seen in commons.requests if seen.path.startswith("/thumb/")])
        call_command("scrape_photos", "--cities", "Portland, OR", "--per-city", "8", "--no-progress", stdout=out)
        again = len([seen for seen in commons.requests if seen.path.startswith("/thumb/")])

    assert "Quality gate: refused 4 of 8 readable downloads (50%)" in out.getvalue()
    assert "4 × not a photo" in out.getvalue()
    assert Photo.objects.filter(city=portland).count() == 4
    assert IngestReject.objects.filter(source="wikimedia", reason__startswith="not a photo").count() == 4
    assert again == downloads  # refused once, never downloaded again


def test_it_refuses_to_add_a_drawing_from_the_identify_page_in_plain_words(client):
    make_tiny_model()
    before = Photo.objects.count()
    upload = SimpleUploadedFile("logo.png", junk_pictures()["coat-of-arms.png"], content_type="image/png")

    response = client.post("/identify/", {"image": upload, "save": "on"})

    assert response.status_code == 400
    assert response.context["error"] == (
        "That looks like a drawing, map, logo or text rather than a photo of a place, so it was not added."
    )
    assert Photo.objects.count() == before
    reject = IngestReject.objects.get(source="upload")
    assert reject.reference.startswith("upload sha256:") and reject.reason.startswith("not a photo: ")


def test_it_checks_uploads_added_through_the_api_too(api_client):
    make_tiny_model()
    token = api_client.cookies["csrftoken"].value
    upload = SimpleUploadedFile("banner.png", junk_pictures()["text-banner.png"], content_type="image/png")

    response = api_client.post("/api/identify", {"image": upload, "save": "true"}, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 400
    assert response.json()["detail"]["reason"].startswith("not a photo: ")
    assert not Photo.objects.filter(source="upload").exists()


def test_perceptual_hashes_survive_resizing_but_not_another_picture():
    china, flower = real_photo("china"), real_photo("flower")
    base = perceptual_hash(china)
    others = [perceptual_hash(china.resize((320, 213))), perceptual_hash(china.convert("L")), perceptual_hash(flower)]

    distances = hamming_distances(base, np.array(others))

    assert distances[0] <= 2 and distances[1] <= 2
    assert distances[2] >= 20


def test_it_hashes_photos_stored_before_the_gate_so_their_copies_are_refused():
    old = ingest(real_photos()["flower.jpg"]).photo
    Photo.objects.filter(pk=old.pk).update(perceptual_hash=None)  # as stored before the gate existed
    out = io.StringIO()

    call_command("hash_photos", stdout=out)

    assert out.getvalue().startswith("Hashed 1 photos; unreadable 0")
    copy = ingest(encoded(real_photo("flower").resize((320, 213)), "JPEG", quality=75))
    assert copy.status == "rejected" and copy.reason.startswith(f"near-duplicate: photo {old.pk} ")
