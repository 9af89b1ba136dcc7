"""'Which city is this photo?': POST /api/identify and the /identify/ page.

Uploads are looked at, never stored unless asked; anything that is not a sane image is a 400.
"""

import html
import io
import random
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from ml.models import ModelVersion
from ml.services import TrainingOptions, predict_photos, train_model_version
from photos.demo import DEMO_CITIES, draw_photo
from photos.models import IngestReject, Photo
from tests.factories import image_bytes, make_city, make_demo_collection, make_model_version

pytestmark = pytest.mark.django_db


def trained() -> ModelVersion:
    options = TrainingOptions(
        epochs=20, augment_views=0, min_photos_per_city=3, activate=True, name=f"identify-{uuid.uuid4().hex[:8]}"
    )
    version = train_model_version(options=options).version
    predict_photos()
    return version


def new_demo_photo(city_name: str, *, seed: int = 1234) -> bytes:
    """A photo in a demo city's style that is not in the collection."""
    _, base, accent, motif = next(c for c in DEMO_CITIES if c[0] == city_name)
    buffer = io.BytesIO()
    draw_photo(random.Random(seed), base, accent, motif).save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def identify(client: Client, *, data: bytes | None, filename: str = "photo.jpg", csrf: bool = True, **fields):
    body = {key: str(value) for key, value in fields.items()}
    if data is not None:
        body["image"] = SimpleUploadedFile(filename, data, content_type="image/jpeg")
    headers = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value} if csrf else {}
    return client.post("/api/identify", body, **headers)  # multipart/form-data


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT / "photos"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_it_names_the_city_of_an_uploaded_photo_and_stores_nothing(api_client, settings):
    collection = make_demo_collection(cities=3, per_city=5)
    version = trained()
    denver = next(city for city in collection if city.name == "Denver")
    photos_before, files_before = Photo.objects.count(), stored_files(settings)

    response = identify(api_client, data=new_demo_photo("Denver"), top_k=2)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model_version"] == version.name
    assert [c["id"] for c in body["cities"]][0] == denver.pk
    assert len(body["cities"]) == 2
    assert body["cities"][0] == {
        "id": denver.pk,
        "name": "Denver",
        "country": "US",
        "region": "",
        "slug": denver.slug,
        "probability": body["cities"][0]["probability"],
    }
    assert body["cities"][0]["probability"] > 0.5 > body["cities"][1]["probability"]
    assert body["confident"] is True  # like the Denver photos: the answer means something
    # Look-alikes are Denver photos, compared by the backbone's image features, credited.
    assert body["similarity_basis"] == "appearance"
    similar = body["similar_photos"]
    assert len(similar) >= 3
    assert {p["city"]["id"] for p in similar[:3]} == {denver.pk}
    assert {p["id"] for p in similar[:3]} <= {p.pk for p in collection[denver]}
    assert similar[0]["similarity"] >= similar[-1]["similarity"]
    assert set(similar[0]["credit"]) == {"author", "licence", "licence_url", "page_url", "source"}
    assert similar[0]["thumbnail_url"].startswith("http://testserver/media/photos/thumbs/")
    # Nothing was stored.
    assert body["saved_photo"] is None
    assert Photo.objects.count() == photos_before
    assert stored_files(settings) == files_before
    assert not IngestReject.objects.exists()


def test_it_adds_the_photo_to_the_collection_only_when_asked(api_client):
    make_demo_collection(cities=2, per_city=4)
    version = trained()
    before = Photo.objects.count()
    upload = image_bytes(seed=4321)  # photo-like: the quality gate takes it (a demo drawing it would refuse)
    assert identify(api_client, data=upload, save="false").json()["saved_photo"] is None
    assert Photo.objects.count() == before

    response = identify(api_client, data=upload, save="true")

    assert response.status_code == 200
    saved = Photo.objects.get(pk=response.json()["saved_photo"])
    assert Photo.objects.count() == before + 1
    assert saved.city is None and saved.source == "upload"
    assert saved.model_version == version and len(saved.probabilities) == 2
    assert saved.hidden  # held for review before swipers see it
    # The same photo again is the same photo, not a second copy.
    again = identify(api_client, data=upload, save="true")
    assert again.json()["saved_photo"] == saved.pk
    assert Photo.objects.count() == before + 1


def truncated_jpeg() -> bytes:
    data = image_bytes(size=(640, 480))
    return data[: len(data) // 2]


CANNOT_OPEN = "That file isn't a picture we can open — try a JPEG or PNG photo."
DAMAGED = "That picture seems damaged or cut off. Try saving it again as a JPEG or PNG photo."


@pytest.mark.parametrize(
    ("data", "fields", "error", "reason"),
    [
        (None, {}, "invalid input", None),
        (b"just some words in a text file\n", {}, CANNOT_OPEN, "not an image Pillow can read"),
        (b"<!DOCTYPE html><html><body>Not found</body></html>", {}, CANNOT_OPEN, "looks like an HTML"),
        (truncated_jpeg(), {}, DAMAGED, "broken image"),
        (b"", {}, "invalid input", None),
        (image_bytes(), {"top_k": "abc"}, "invalid input", None),
        (image_bytes(), {"top_k": "0"}, "invalid input", None),
        (image_bytes(), {"top_k": "999"}, "invalid input", None),
        (image_bytes(), {"save": "maybe"}, "invalid input", None),
    ],
    ids=["no-file", "text", "html", "truncated-jpeg", "empty", "top_k-abc", "top_k-0", "top_k-999", "save-maybe"],
)
def test_it_refuses_bad_input_with_a_json_400_and_stores_nothing(api_client, settings, data, fields, error, reason):
    make_model_version([make_city("Denver"), make_city("Miami")])
    response = identify(api_client, data=data, **fields)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert error in body["error"]  # words a person understands...
    if reason:
        assert reason in body["detail"]["reason"]  # ...and the technical reason for the developer
    assert not Photo.objects.exists() and stored_files(settings) == []


def test_it_names_the_bad_field(api_client):
    body = identify(api_client, data=image_bytes(), top_k="abc").json()
    assert "top_k" in body["detail"]
    arabic_indic_three = identify(api_client, data=image_bytes(), top_k="\u0663")
    assert arabic_indic_three.status_code == 400 and "top_k" in arabic_indic_three.json()["detail"]
    assert "image" in identify(api_client, data=None).json()["detail"]


def test_it_refuses_a_decompression_bomb(api_client, settings):
    settings.CITYVIBES_MAX_IMAGE_PIXELS = 10_000
    response = identify(api_client, data=image_bytes(size=(320, 240), fmt="PNG"), filename="bomb.png")
    assert response.status_code == 400
    assert response.json()["error"] == "That picture is too large: at most 0.01 megapixels. Try a smaller copy."
    assert "too many pixels" in response.json()["detail"]["reason"]
    assert not Photo.objects.exists()


def test_it_refuses_a_png_with_more_pixels_than_it_decodes_in_full(api_client, settings):
    settings.CITYVIBES_IDENTIFY_MAX_PIXELS = 1_000_000  # 12 MP by default; a PNG cannot be decoded at reduced size
    png = io.BytesIO()
    Image.new("RGBA", (2000, 1000), (20, 120, 200, 255)).save(png, format="PNG")  # 10 KB
    response = identify(api_client, data=png.getvalue(), filename="big.png")
    assert response.status_code == 400
    body = response.json()
    assert body["error"].startswith("That picture is too large to look at here: save it as a JPEG photo")
    assert body["detail"]["reason"].startswith("too many pixels for a PNG image (2000x1000")


def noisy_png() -> bytes:
    """An incompressible image of well over 100 KB."""
    buffer = io.BytesIO()
    Image.effect_noise((400, 400), 80).convert("RGB").save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 100_000
    return buffer.getvalue()


def test_it_refuses_an_oversized_upload_before_reading_it(api_client, settings):
    data = noisy_png()
    settings.CITYVIBES_MAX_UPLOAD_BYTES = 10_000  # the body is far over: refused from its Content-Length
    response = identify(api_client, data=data)
    assert response.status_code == 400
    assert response.json()["error"] == "upload too large (limit 10000 bytes)"

    settings.CITYVIBES_MAX_UPLOAD_BYTES = len(data) - 1  # just over: refused from the file's size
    response = identify(api_client, data=data)
    assert response.status_code == 400
    assert "upload too large" in response.json()["error"]
    assert not Photo.objects.exists()


def test_it_asks_for_multipart_when_sent_json(api_client):
    response = api_client.post_json("/api/identify", {"image": "aGVsbG8="})
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["error"]


def test_it_says_a_model_must_be_trained_first(api_client):
    make_model_version([make_city("Denver"), make_city("Miami")], active=False)
    response = identify(api_client, data=image_bytes(), save="true")
    assert response.status_code == 503
    assert "train_model --activate" in response.json()["error"]
    assert not Photo.objects.exists()


def test_it_refuses_an_upload_without_the_csrf_token(api_client):
    response = identify(api_client, data=image_bytes(), csrf=False)
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]


# --- the page ---------------------------------------------------------------------------------


def test_it_identifies_a_photo_from_a_plain_form_post(client, settings):
    collection = make_demo_collection(cities=3, per_city=5)
    trained()
    miami = next(city for city in collection if city.name == "Miami")
    before = Photo.objects.count()

    upload = SimpleUploadedFile("beach.jpg", new_demo_photo("Miami"), content_type="image/jpeg")
    response = client.post("/identify/", {"image": upload})

    assert response.status_code == 200
    result = response.context["result"]
    assert result.cities[0].city == miami
    page = response.content.decode()
    top = page[page.index('id="identified-cities"') :]
    assert f'data-city-id="{miami.pk}"' in top.split("</li>")[0]
    assert ">Miami</a>" in top.split("</li>")[0]
    assert 'id="similar-photos"' in page and "Unknown author" in page
    assert 'src="data:image/jpeg;base64,' in page  # the upload is shown back without being stored
    assert Photo.objects.count() == before


def test_it_shows_the_form_and_says_when_there_is_no_model(client):
    page = client.get("/identify/").content.decode()
    assert 'type="file"' in page and 'accept="image/*"' in page and 'enctype="multipart/form-data"' in page
    assert 'type="checkbox"' in page and "checked" not in page
    assert "No city model is trained yet" in page
    response = client.post("/identify/", {"image": SimpleUploadedFile("a.jpg", image_bytes())})
    assert response.status_code == 503
    page = response.content.decode()
    assert page.count("train_model --activate") == 1  # said once, not once more as an error below it
    assert 'id="identify-error"' not in page


def test_it_explains_a_rejected_upload_on_the_page(client):
    response = client.post("/identify/", {"image": SimpleUploadedFile("a.jpg", b"<html>nope</html>")})
    assert response.status_code == 400
    assert CANNOT_OPEN in html.unescape(response.content.decode())
    response = client.post("/identify/", {})
    assert response.status_code == 400
    assert "Choose a photo" in response.content.decode()


def test_it_refuses_an_oversized_upload_on_the_page(client, settings):
    settings.CITYVIBES_MAX_UPLOAD_BYTES = 1_000
    for data in (image_bytes(size=(640, 480)), noisy_png()):  # checked from the file size, then the header
        response = client.post("/identify/", {"image": SimpleUploadedFile("a.png", data)})
        assert response.status_code == 400
        assert "That file is too large" in response.content.decode()
    assert not Photo.objects.exists()


def test_it_checks_the_csrf_token_on_the_page(client):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/identify/", {"image": SimpleUploadedFile("a.jpg", image_bytes())})
    assert response.status_code == 403
