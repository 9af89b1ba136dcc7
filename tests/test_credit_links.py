"""A photo's credit links (its page, its licence) are http(s) only: stored, answered by the API and rendered."""

import pytest

from photos.models import Photo
from tests.factories import make_city, make_photo

pytestmark = pytest.mark.django_db

NOT_WEB_LINKS = [
    "javascript:alert(1)",
    " JavaScript:alert(document.cookie)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//elsewhere.example/page",
    "/relative/page",
]


@pytest.mark.parametrize("link", NOT_WEB_LINKS)
def test_it_stores_no_credit_link_that_is_not_http(link):
    photo = make_photo(make_city(), page_url=link, licence_url=link, source_url=link, licence="CC BY 4.0")
    photo.refresh_from_db()
    assert (photo.page_url, photo.licence_url, photo.source_url) == ("", "", "")


def test_it_keeps_http_and_https_credit_links():
    photo = make_photo(
        make_city(), page_url="http://example.org/photo", licence_url="https://creativecommons.org/licenses/by/4.0/"
    )
    photo.refresh_from_db()
    assert (photo.page_url, photo.licence_url) == (
        "http://example.org/photo",
        "https://creativecommons.org/licenses/by/4.0/",
    )


def test_it_renders_no_stored_link_that_is_not_http(client, api_client):
    city = make_city("Denver")
    make_photo(city, author="Ann Author", licence="CC BY 4.0", page_url="https://example.org/p")
    # Stored before ingestion checked links (or edited in the database since).
    Photo.objects.update(page_url="javascript:alert(1)", licence_url="JAVASCRIPT:alert(2)")

    for page in ("/", f"/cities/{city.slug}/"):
        html = client.get(page).content.decode()
        assert "Ann Author" in html and "CC BY 4.0" in html, page
        assert "javascript:" not in html.lower(), page
    credit = api_client.get("/api/photos/next?n=1").json()["photos"][0]["credit"]
    assert (credit["author"], credit["page_url"], credit["licence_url"]) == ("Ann Author", "", "")
