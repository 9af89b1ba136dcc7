"""Failed log-ins are limited per account and per address: guessing a password gets a handful of tries."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from cityvibes_site import login_throttle
from tests.clients import Clock

pytestmark = pytest.mark.django_db

PASSWORD = "a long passphrase of 2024"
WINDOW = 900  # CITYVIBES_LOGIN_WINDOW_SECONDS


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    """The counting window's clock, standing still (at the start of a window) until a test moves it."""
    clock = Clock(2_000_000 * WINDOW)
    monkeypatch.setattr(login_throttle, "timer", clock)
    return clock


@pytest.fixture
def ann():
    return get_user_model().objects.create_user("ann", password=PASSWORD)


def log_in(client: Client, username: str, password: str, path: str = "/accounts/login/"):
    return client.post(path, {"username": username, "password": password})


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_it_refuses_the_right_password_after_five_wrong_ones(client, ann):
    for _ in range(5):
        response = log_in(client, "ann", "wrong")
        assert response.status_code == 200 and "Please enter a correct username and password" in response.text

    response = log_in(client, "ann", PASSWORD)

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= WINDOW
    assert "Too many failed log-ins for this account or from this address. Try again in 15 minutes." in response.text
    assert not is_logged_in(client)


def test_it_counts_an_account_whatever_the_address(ann):
    for i in range(5):
        log_in(Client(REMOTE_ADDR=f"10.0.0.{i}"), "ANN ", "wrong")  # the same account however it is spelled
    assert log_in(Client(REMOTE_ADDR="10.0.1.1"), "ann", PASSWORD).status_code == 429


def test_it_refuses_an_address_that_failed_on_many_accounts(ann):
    guesser = Client(REMOTE_ADDR="203.0.113.7")
    for i in range(20):
        log_in(guesser, f"user{i}", "wrong")

    assert log_in(guesser, "ann", PASSWORD).status_code == 429
    assert not is_logged_in(guesser)
    elsewhere = Client(REMOTE_ADDR="198.51.100.2")
    assert log_in(elsewhere, "ann", PASSWORD).status_code == 302 and is_logged_in(elsewhere)


def test_it_lets_the_account_in_again_in_the_next_window(client, ann, clock):
    for _ in range(5):
        log_in(client, "ann", "wrong")
    clock.now += WINDOW
    assert log_in(client, "ann", PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_a_successful_log_in_clears_the_accounts_failures(client, ann):
    for _ in range(4):
        log_in(client, "ann", "wrong")
    assert log_in(client, "ann", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        log_in(client, "ann", "wrong")
    assert log_in(client, "ann", PASSWORD).status_code == 302


def test_the_admin_log_in_obeys_the_same_limit(client):
    get_user_model().objects.create_superuser("boss", password=PASSWORD)
    for _ in range(5):
        log_in(client, "boss", "wrong", path="/admin/login/")

    log_in(client, "boss", PASSWORD, path="/admin/login/")

    assert not is_logged_in(client)
    assert client.get("/admin/").status_code == 302  # to the log-in page
