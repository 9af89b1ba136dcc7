"""GET /healthz: a liveness probe that answers without the database (and the load benchmark's ceiling)."""

import pytest


@pytest.mark.django_db
def test_it_answers_ok_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
