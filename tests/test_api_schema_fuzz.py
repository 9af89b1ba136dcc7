"""Schemathesis against /api/schema/: generated requests, valid and invalid, never get a 5xx, and
the answers match the schema (status codes, content types, headers, bodies).

Requests go to the real Django app through WSGI with a CSRF token, like a browser, so they reach
the views instead of stopping at the CSRF check (403). Schema-valid swipes name photos that exist
(a random id is a documented 400, "no such photo"), so they are recorded, repeated and contradicted.
POST /api/identify runs against a small trained model, and schema-valid uploads are real photos (the
schema can only say "binary"; bytes that do not decode are a documented 400), so they get answers.
"""

import uuid

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, settings

from cityvibes_site.wsgi import application
from ml.services import TrainingOptions, train_model_version
from tests.factories import image_bytes, make_demo_collection

CSRF_TOKEN = "schemathesisCsrfToken0123456789a"  # any 32 letters and digits: cookie and header must match
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Loaded at collection: the schema view reads no table. (schemathesis.pytest.from_fixture would be
# the lazy way, but it breaks on pytest 9: it reads the removed Function._nodeid.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    settings.CITYVIBES_RATE_SWIPES = "off"
    settings.CITYVIBES_RATE_IDENTIFY = "off"


@pytest.fixture
def photo_ids(transactional_db) -> list[int]:
    # transactional_db: the WSGI handler's request signals close connections left in a transaction.
    collection = make_demo_collection(cities=3, per_city=4)
    return [photo.pk for photos in collection.values() for photo in photos]


@pytest.fixture
def trained_model(photo_ids):
    options = TrainingOptions(
        epochs=5, augment_views=0, min_photos_per_city=3, activate=True, name=f"fuzz-{uuid.uuid4().hex[:8]}"
    )
    return train_model_version(options=options).version


def is_positive(case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def call_like_a_browser(case):
    response = case.call(headers={"X-CSRFToken": CSRF_TOKEN}, cookies={"csrftoken": CSRF_TOKEN})
    assert response.status_code != 403, "the CSRF token did not get through"
    return response


@schema.exclude(path="/api/identify").parametrize()
@FUZZ
def test_it_answers_generated_swipe_api_requests_without_server_errors_as_documented(case, photo_ids):
    if case.path == "/api/swipes" and is_positive(case) and isinstance(case.body, dict):
        case.body["photo"] = photo_ids[case.body["photo"] % len(photo_ids)]
    case.validate_response(call_like_a_browser(case))


@schema.include(path="/api/identify").parametrize()
@FUZZ
def test_it_answers_generated_identify_requests_without_server_errors_as_documented(case, trained_model):
    if is_positive(case) and isinstance(case.body, dict):
        generated = case.body.get("image") or b""
        case.body["image"] = image_bytes(seed=len(generated) + 1, size=(96 + len(generated) % 64, 72))
    # Not negative_data_rejection here: a multipart form cannot carry most of its negations (every
    # value is text, an empty array sends no part at all), so it flags requests that arrived valid,
    # e.g. "top_k": [] sent as nothing, answered 200 with the default. The form's type checks are
    # tested directly: test_identify.py (top_k) and the save test below.
    case.validate_response(call_like_a_browser(case), excluded_checks=[schemathesis.checks.negative_data_rejection])


@pytest.mark.django_db
def test_it_refuses_a_save_flag_that_is_not_true_or_false(api_client):
    # Found by the fuzzing above: "save": "0" was taken as false although the schema says boolean
    # (a form spells it true or false). Like the JSON API's "liked", it is now strictly typed.
    def identify(save: str):
        upload = SimpleUploadedFile("photo.jpg", image_bytes(), content_type="image/jpeg")
        token = api_client.cookies["csrftoken"].value
        return api_client.post("/api/identify", {"image": upload, "save": save}, HTTP_X_CSRFTOKEN=token)

    for ill_typed in ("0", "1", "yes", "on"):
        response = identify(ill_typed)
        assert response.status_code == 400, ill_typed
        assert response.json()["error"] == "invalid input"
        assert set(response.json()["detail"]) == {"save"}
    for well_typed in ("true", "false", "True", "FALSE"):
        assert identify(well_typed).status_code == 503  # accepted; then: no model trained here


def test_the_schema_states_the_bounds_the_api_enforces_on_query_numbers(client):
    """A client that stays within the documented bounds is never refused for the size of a number:
    `showing` beyond the largest photo id is a 400 ("showing must be ... between 1 and ..."), so the
    schema says so (schemathesis once sent showing=33044311456537953771192320 as schema-valid)."""
    paths = client.get("/api/schema/?format=json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                    assert "maximum" in parameter["schema"], f"{method.upper()} {path} ?{parameter['name']}"
    too_big = client.get("/api/photos/next?showing=33044311456537953771192320")
    assert too_big.status_code == 400 and "showing must be an integer" in too_big.json()["error"]
