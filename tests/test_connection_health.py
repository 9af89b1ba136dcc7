"""CONN_HEALTH_CHECKS: a persistent connection the server closed is noticed and replaced before a
request uses it, so the first request after a database restart gets an answer, not a 503."""

import select

import psycopg
import pytest
from django.db import close_old_connections, connection

from tests.clients import browser
from tests.factories import make_city, make_photo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres(reason="needs PostgreSQL")]


def terminate(backend_pid: int) -> None:
    """What a PostgreSQL restart does to every client connection, done to this one only."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid]).fetchone() == (True,)
    select.select([connection.connection.fileno()], [], [], 5)  # until the server's goodbye arrives


def test_a_connection_the_server_closed_is_unusable_and_the_next_request_reconnects():
    photo = make_photo(make_city("Denver"))
    client = browser()
    assert client.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201
    connection.ensure_connection()
    old_pid = connection.connection.info.backend_pid

    terminate(old_pid)
    assert not connection.is_usable()

    # What a request's start does (close_old_connections, which Django's test client skips): the
    # health check then replaces the dead connection, so the request gets an answer, not a 503.
    close_old_connections()
    response = client.get("/api/results")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["swipe_count"] == 1
    assert connection.connection.info.backend_pid != old_pid
