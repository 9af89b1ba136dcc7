"""Signing up and logging in: linked from every page, and forms that read well on a phone."""

import re

import pytest
from django.contrib.auth.models import User

from tests.conftest import ARTIFACTS, needs_chromium

pytestmark = pytest.mark.django_db


def nav_of(page: str) -> str:
    return re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S).group(1)


def test_it_links_sign_up_and_log_in_from_the_navigation(client):
    nav = nav_of(client.get("/").content.decode())
    assert 'href="/accounts/signup/"' in nav and ">Sign up</a>" in nav
    assert 'href="/accounts/login/"' in nav


def test_it_offers_log_out_instead_once_logged_in(client):
    client.force_login(User.objects.create_user("ann", password="a-Long-pass-42"))
    nav = nav_of(client.get("/").content.decode())
    assert "Log out" in nav and "Sign up" not in nav and "Log in" not in nav


@pytest.mark.parametrize("path", ["/accounts/signup/", "/accounts/login/"])
def test_it_labels_each_field_and_points_its_input_to_the_rules(client, path):
    page = client.get(path).content.decode()
    assert 'class="account-form"' in page
    for field in ("id_username", "id_password1" if "signup" in path else "id_password"):
        assert f'<label for="{field}">' in page
    if "signup" in path:
        assert 'aria-describedby="id_password1_helptext"' in page
        assert '<div class="helptext" id="id_password1_helptext">' in page
        assert 'href="/accounts/login/"' in page.split("</form>")[1]  # "Already have an account? Log in"


def test_it_says_what_was_wrong_with_a_log_in(client):
    response = client.post("/accounts/login/", {"username": "nobody", "password": "wrong password"})
    page = response.content.decode()
    assert 'class="message error" role="alert"' in page
    assert "Please enter a correct username and password" in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@needs_chromium
@pytest.mark.parametrize("path", ["/accounts/signup/", "/accounts/login/"])
def test_it_fits_the_forms_and_the_navigation_on_a_phone(chromium, live_server, path):
    context = chromium.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server.url}{path}")
    page.screenshot(path=str(ARTIFACTS / f"account-{path.strip('/').replace('/', '-')}-360.png"), full_page=True)

    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    for link in page.locator(".site-header a").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, link.inner_text()
    form = page.locator(".account-form").bounding_box()
    for field in page.locator(".account-form input:visible").all():
        box = field.bounding_box()
        assert box["width"] >= 0.8 * form["width"] and box["height"] >= 44  # wide, and big enough to tap
    context.close()
