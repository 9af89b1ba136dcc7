"""Browser-like test clients: each is its own swiper (its own cookies), CSRF enforced like a real browser."""

import json

from django.test import Client

from photos.models import Photo


def second_tab(tab: Client) -> Client:
    """Another tab of the same browser: its own client, with the same cookies (session, csrftoken)."""
    other = browser()
    for name, morsel in tab.cookies.items():
        other.cookies[name] = morsel.value
    return other


def browser(*, user=None, **client_kwargs) -> Client:
    """A client with a csrftoken cookie (from GET /), logged in as `user` when given.

    `client.post_json(path, data)` (and put_json) sends JSON with the X-CSRFToken header, like static/js/swipe.js.
    """
    client = Client(enforce_csrf_checks=True, **client_kwargs)
    if user is not None:
        client.force_login(user)
    client.get("/")

    def token() -> str:
        return client.cookies["csrftoken"].value

    def send_json(method, path: str, data=None, **extra):
        body = json.dumps(data if data is not None else {})
        return method(path, body, content_type="application/json", HTTP_X_CSRFTOKEN=token(), **extra)

    def post_json(path: str, data=None, **extra):
        return send_json(client.post, path, data, **extra)

    def put_json(path: str, data=None, **extra):
        return send_json(client.put, path, data, **extra)

    def post_form(path: str, data=None, **extra):
        return client.post(path, {**(data or {}), "csrfmiddlewaretoken": token()}, **extra)

    client.csrf_token = token()
    client.post_json = post_json
    client.put_json = put_json
    client.post_form = post_form
    return client


class Clock:
    """A clock for code that reads the time through an injected function: it stands still until a
    test moves it (clock.now += seconds)."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def city_of(photo_id: int) -> str:
    return Photo.objects.select_related("city").get(pk=photo_id).city.name


def swipe_along(client: Client, count: int, like) -> list[str]:
    """A person swiping one card at a time, as the page does, liking the cards whose city `like(name)`
    accepts: the city of every card shown (fewer than `count` when the deck runs out)."""
    shown = []
    for _ in range(count):
        cards = client.get("/api/photos/next?n=1").json()["photos"]
        if not cards:
            break
        shown.append(city_of(cards[0]["id"]))
        answer = client.post_json("/api/swipes", {"photo": cards[0]["id"], "liked": like(shown[-1])})
        assert answer.status_code == 201, answer.json()
    return shown


def most_of_one_city(shown: list[str], cards: int = 8) -> int:
    """The most cards of one city among any `cards` shown in a row (the deck's rule: at most 3 in 8)."""
    windows = [shown[i : i + cards] for i in range(max(len(shown) - cards + 1, 1))]
    return max(window.count(city) for window in windows for city in set(window))
