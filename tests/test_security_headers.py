"""Every answer carries a Content-Security-Policy and a Permissions-Policy, and the pages need nothing
the policy refuses: no inline script, no inline style."""

import re

import pytest

from tests.clients import browser
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, str]:
    directives = (d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    return {name: value for name, value in directives}


@pytest.mark.parametrize("path", ["/", "/results/", "/identify/", "/accounts/login/", "/api/photos/next"])
def test_every_answer_carries_a_content_security_policy_and_a_permissions_policy(client, path):
    response = client.get(path)
    csp = policy(response)
    assert csp["default-src"] == csp["script-src"] == csp["style-src"] == "'self'"
    assert csp["img-src"] == "'self' data:"  # photos from this site's media; the identify preview inline
    assert csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def s3_storage(settings, **extra) -> None:
    settings.AWS_STORAGE_BUCKET_NAME = "cityvibes-photos"
    settings.AWS_S3_REGION_NAME = "eu-west-1"
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_QUERYSTRING_AUTH = True
    for name, value in extra.items():
        setattr(settings, name, value)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}


@pytest.mark.parametrize(
    "storage, origin",
    [
        ({"AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_S3_ADDRESSING_STYLE": "path"}, "http://127.0.0.1:9000"),
        ({}, "https://cityvibes-photos.s3.amazonaws.com"),
        ({"AWS_S3_CUSTOM_DOMAIN": "cdn.example.net", "AWS_S3_URL_PROTOCOL": "https:"}, "https://cdn.example.net"),
    ],
    ids=["minio", "aws", "cdn"],
)
def test_it_allows_photos_from_the_bucket_or_cdn_that_serves_them(client, settings, storage, origin):
    s3_storage(settings, **storage)
    assert policy(client.get("/healthz"))["img-src"] == f"'self' data: {origin}"


def swiped_collection():
    """Cities, a model, predicted photos and a swiper with a like: the pages then show bars and credits."""
    cities = [make_city("Denver"), make_city("Miami")]
    version = make_model_version(cities)
    photos = [
        make_photo(cities[i % 2], author="Ann", licence="CC BY 4.0", page_url="https://example.org/p") for i in range(4)
    ]
    for i, photo in enumerate(photos):
        set_prediction(photo, version, [0.8, 0.2] if i % 2 == 0 else [0.2, 0.8])
    swiper = browser()
    assert swiper.post_json("/api/swipes", {"photo": photos[0].pk, "liked": True}).status_code == 201
    return cities, photos, swiper


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)


def test_the_pages_need_no_inline_script_or_style(admin_client):
    cities, photos, swiper = swiped_collection()
    version_id = make_model_version(cities, active=False).pk
    pages = {
        swiper: ["/", "/results/", "/identify/", f"/cities/{cities[0].slug}/", "/accounts/login/", "/accounts/signup/"],
        admin_client: [
            "/admin/photos/photo/",
            f"/admin/photos/photo/{photos[0].pk}/change/",
            f"/admin/ml/modelversion/{version_id}/change/",
        ],
    }
    for client, paths in pages.items():
        for path in paths:
            html = client.get(path).content.decode()
            assert not INLINE_SCRIPT.search(html), (path, INLINE_SCRIPT.search(html).group())
            assert not INLINE_STYLE.search(html), (path, html[INLINE_STYLE.search(html).start() - 200 :][:400])
            assert path != "/results/" or 'class="bar' in html  # the score bars are there, drawn without a style
