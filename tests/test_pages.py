"""Server-rendered pages work without JavaScript; admin pages render for staff."""

import pytest
from django.contrib.auth.models import User

from swipes.models import UserSwipeData
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db


def test_it_tells_a_new_install_how_to_get_photos(client):
    page = client.get("/").content.decode()
    assert "No photos yet" in page and "import_photos" in page


def test_it_shows_a_photo_with_its_credit_and_licence_link(client):
    make_photo(
        make_city(),
        author="Jane Doe",
        licence="CC BY-SA 4.0",
        licence_url="https://creativecommons.org/licenses/by-sa/4.0/",
        page_url="https://commons.wikimedia.org/wiki/File:X.jpg",
    )
    page = client.get("/").content.decode()
    assert "Jane Doe" in page
    assert 'href="https://creativecommons.org/licenses/by-sa/4.0/"' in page
    assert "/media/photos/display/" in page  # the resized rendition, not the original


def test_it_swipes_undoes_and_resets_with_plain_form_posts(client):
    denver, miami = make_city("Denver"), make_city("Miami")
    make_photo(denver), make_photo(miami)
    first = client.get("/").context["photo"]
    assert client.post("/swipe/", {"photo": first.pk, "liked": "1"}).status_code == 302
    second = client.get("/").context["photo"]
    assert second != first
    client.post("/swipe/", {"photo": second.pk, "liked": "0"})
    results = client.get("/results/")
    ranked = results.context["ranked"]
    assert [r.city for r in ranked] == [first.city, second.city]
    assert "Your cities" in results.content.decode()
    client.post("/undo/")
    assert UserSwipeData.objects.get().swipe_count == 1
    client.post("/reset/")
    assert UserSwipeData.objects.get().swipe_count == 0
    assert client.get("/results/").context["ranked"] == []


def test_it_shrugs_off_a_garbled_form_post(client):
    make_photo(make_city())
    response = client.post("/swipe/", {"photo": "abc", "liked": "maybe"}, follow=True)
    assert response.status_code == 200
    assert "not understood" in response.content.decode()


def test_it_keeps_anonymous_swipes_after_signing_up(client):
    photo = make_photo(make_city())
    client.post("/swipe/", {"photo": photo.pk, "liked": "1"})
    client.post("/accounts/signup/", {"username": "ann", "password1": "a-Long-pass-42", "password2": "a-Long-pass-42"})
    data = UserSwipeData.objects.get()
    assert data.user.username == "ann" and data.swipe_count == 1


@pytest.mark.parametrize(
    "password, reason",
    [
        ("84729361", "This password is entirely numeric."),
        ("password123", "This password is too common."),
        ("x7#kQ", "This password is too short. It must contain at least 8 characters."),
    ],
)
def test_it_refuses_a_weak_password_at_sign_up_and_says_why(client, password, reason):
    response = client.post("/accounts/signup/", {"username": "ann", "password1": password, "password2": password})
    assert response.status_code == 200
    assert f'<ul class="errorlist" id="id_password2_error"><li>{reason}' in response.content.decode()
    assert not User.objects.exists()


def test_it_keeps_history_across_devices_after_login(client):
    user = User.objects.create_user("bob", password="a-Long-pass-42")
    photo = make_photo(make_city())
    client.login(username="bob", password="a-Long-pass-42")
    client.post("/swipe/", {"photo": photo.pk, "liked": "1"})
    from django.test import Client

    other_device = Client()
    other_device.login(username="bob", password="a-Long-pass-42")
    assert other_device.get("/api/results").json()["swipe_count"] == 1
    assert UserSwipeData.objects.get().user == user


@pytest.mark.parametrize(
    "url",
    [
        "/admin/photos/city/",
        "/admin/photos/photo/",
        "/admin/ml/modelversion/",
        "/admin/swipes/userswipedata/",
        "/admin/swipes/swipe/",
        "/admin/photos/ingestreject/",
        "/admin/photos/photo/?predicted=yes",
        "/admin/photos/photo/?q=Denver",
    ],
)
def test_it_renders_the_admin_for_staff(admin_client, url):
    denver, miami = make_city("Denver"), make_city("Miami")
    version = make_model_version([denver, miami])
    set_prediction(make_photo(denver), version, [0.9, 0.1])
    response = admin_client.get(url)
    assert response.status_code == 200


def test_it_shows_thumbnail_and_top_predictions_in_the_photo_admin(admin_client):
    denver, miami = make_city("Denver"), make_city("Miami")
    photo = set_prediction(make_photo(denver), make_model_version([denver, miami]), [0.2, 0.8])
    listing = admin_client.get("/admin/photos/photo/").content.decode()
    assert "/media/photos/thumbs/" in listing
    assert "Miami 80%" in listing and "Denver 20%" in listing
    assert admin_client.get(f"/admin/photos/photo/{photo.pk}/change/").status_code == 200


def test_it_filters_the_photo_admin_by_model_version(admin_client):
    denver, miami = make_city("Denver"), make_city("Miami")
    old, new = make_model_version([denver, miami], active=False), make_model_version([denver, miami])
    by_old = set_prediction(make_photo(denver), old, [0.6, 0.4])
    by_new = set_prediction(make_photo(miami), new, [0.3, 0.7])
    listing = admin_client.get(f"/admin/photos/photo/?model_version={old.pk}")
    assert [p.pk for p in listing.context["cl"].result_list] == [by_old.pk]
    assert new.name in listing.content.decode()  # offered as a choice
    assert by_new.pk not in [p.pk for p in listing.context["cl"].result_list]
