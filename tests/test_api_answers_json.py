"""Every answer under /api/ is JSON in the error format, also those Django makes outside the API's views."""

import pytest

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int, message: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": message, "detail": None}
    assert int(response.get("Content-Length", len(response.content))) == len(response.content)


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_an_unknown_api_path_is_a_json_404(client, settings, debug):
    settings.DEBUG = debug  # DEBUG's 404 page is HTML too
    assert_json_error(client.get("/api/nothing-here"), 404, "not found")
    assert_json_error(client.post("/api/swipes/nothing-here", {}), 404, "not found")


def test_a_host_header_not_allowed_is_a_json_400(client):
    response = client.get("/api/photos/next", HTTP_HOST="elsewhere.example")
    assert_json_error(response, 400, "bad request")


def test_pages_keep_their_html_errors(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_chunked_body_is_a_411_not_an_empty_body(api_client):
    # What gunicorn hands Django for "Transfer-Encoding: chunked": no CONTENT_LENGTH, so Django reads nothing.
    response = api_client.generic(
        "POST",
        "/api/swipes",
        b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_X_CSRFTOKEN=api_client.cookies["csrftoken"].value,
    )
    assert_json_error(response, 411, "length required: send the body with a Content-Length header, not chunked")
