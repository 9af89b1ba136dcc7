"""CACHE_URL=redis://...: Django's own Redis cache backend, shared by every web worker."""

import os
import runpy
from pathlib import Path

import pytest
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory

from cityvibes_site.throttling import SwipeWriteThrottle

# Database 14: the other tests use 11 and 15, the benchmarks 12 and 13.
REDIS_URL = os.environ.get("CITYVIBES_TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/14")
SETTINGS = Path(__file__).resolve().parent.parent / "cityvibes_site" / "settings.py"


@pytest.mark.parametrize(
    ("cache_url", "backend"),
    [
        ("redis://cache.internal:6379/1", "django.core.cache.backends.redis.RedisCache"),
        ("", "django.core.cache.backends.locmem.LocMemCache"),
    ],
)
def test_settings_use_a_shared_redis_cache_when_cache_url_is_set(monkeypatch, cache_url, backend):
    monkeypatch.setenv("CACHE_URL", cache_url)
    caches = runpy.run_path(str(SETTINGS))["CACHES"]
    assert caches["default"]["BACKEND"] == backend
    if cache_url:
        assert caches["default"]["LOCATION"] == cache_url


def test_two_workers_sharing_redis_count_one_allowance(settings):
    """Each gunicorn worker has its own cache client; through Redis they count the same requests."""
    settings.CITYVIBES_RATE_SWIPES = "3/min"
    workers = [RedisCache(REDIS_URL, {"KEY_PREFIX": "test-shared-cache"}) for _ in range(2)]
    workers[0].clear()
    try:
        allowed = []
        for i in range(6):
            throttle = SwipeWriteThrottle()
            throttle.cache = workers[i % 2]
            allowed.append(
                throttle.allow_request(RequestFactory().post("/api/swipes", REMOTE_ADDR="203.0.113.9"), None)
            )
        assert allowed == [True, True, True, False, False, False]
    finally:
        workers[0].clear()
