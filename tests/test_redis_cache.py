"""swipes.redis_cache.RedisCache against a real Redis: the stock backend's behaviour, one client object."""

import json
import os
import runpy
from pathlib import Path

import pytest
import redis

from swipes.redis_cache import RedisCache

# Database 14: the other tests use 11 and 15, the benchmarks 12 and 13.
REDIS_URL = os.environ.get("CITYVIBES_TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/14")
SETTINGS = Path(__file__).resolve().parent.parent / "cityvibes_site" / "settings.py"


@pytest.fixture
def cache():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "test-redis-cache"})
    cache.clear()
    yield cache
    cache.clear()


def test_it_gets_sets_adds_increments_and_deletes(cache):
    assert cache.get("missing", "default") == "default"
    cache.set("photo", {"id": 7, "tags": ["beach"]}, timeout=60)
    assert cache.get("photo") == {"id": 7, "tags": ["beach"]}
    assert cache.add("photo", "other") is False
    assert cache.add("count", 10, timeout=60) is True
    assert cache.incr("count") == 11
    assert cache.incr("count", 5) == 16
    assert cache.get("count") == 16
    with pytest.raises(ValueError):
        cache.incr("nothing-here")
    cache.set_many({"a": 1, "b": "two"})
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": "two"}
    assert cache.delete("photo") is True
    assert cache.get("photo") is None
    assert cache.has_key("a")


def test_it_reuses_one_client_object_for_every_operation(cache, monkeypatch):
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "test-redis-cache"})  # not used yet
    built = []
    original = cache._cache._client

    def counting_client(**kwargs):
        built.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(cache._cache, "_client", counting_client)
    for i in range(20):
        cache.set("k", i)
        assert cache.get("k") == i
        cache.add("n", 0)
        cache.incr("n")
    assert len(built) == 1  # the stock backend builds one per operation: 80 here
    client = cache._cache.get_client()
    assert client is cache._cache.get_client(write=True)
    assert isinstance(client, redis.Redis)
    assert client.connection_pool is cache._cache._get_connection_pool(write=True)


def test_it_passes_its_options_to_the_pool_as_the_stock_backend_does():
    cache = RedisCache(
        REDIS_URL,
        {"OPTIONS": {"serializer": "django.core.cache.backends.redis.RedisSerializer", "socket_timeout": 3}},
    )
    assert cache._cache.get_client().connection_pool.connection_kwargs["socket_timeout"] == 3
    cache.set("x", [1, 2])
    assert cache.get("x") == [1, 2]


def test_a_forked_child_uses_its_own_connections(cache):
    """gunicorn forks its workers after the master may have touched the cache: the memoized client must
    not make a child talk over the parent's socket (redis-py's pool notices the new pid and reconnects)."""
    cache.set("before-fork", "parent")
    parent_connection = cache._cache.get_client().client_id()

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running any pytest teardown
        try:
            client = cache._cache.get_client()
            report = {
                "got": cache.get("before-fork"),
                "incr": cache.incr_with_expiry("forked", 60),
                "connection": client.client_id(),
                "pool_pid": client.connection_pool.pid,
                "pid": os.getpid(),
            }
            os.write(write_end, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = json.loads(pipe.read())
    os.waitpid(pid, 0)

    assert report["got"] == "parent"
    assert report["incr"] == 1
    assert report["pool_pid"] == report["pid"]  # the pool reset itself in the child
    assert report["connection"] != parent_connection
    # The parent's connection was left alone and still answers, in order.
    assert cache._cache.get_client().client_id() == parent_connection
    assert cache.get("before-fork") == "parent"
    assert cache.get("forked") == 1


def test_incr_with_expiry_counts_and_expires_with_the_first_increment(cache):
    client = cache._cache.get_client()
    key = cache.make_key("window")
    assert [cache.incr_with_expiry("window", 100) for _ in range(3)] == [1, 2, 3]
    assert 99 <= client.ttl(key) <= 100
    client.expire(key, 50)  # later increments keep the first expiry
    assert cache.incr_with_expiry("window", 100) == 4
    assert client.ttl(key) <= 50
    assert cache.get("window") == 4
    with pytest.raises(ValueError, match="positive timeout"):
        cache.incr_with_expiry("window", None)


def test_it_survives_redis_forgetting_the_script(cache):
    assert cache.incr_with_expiry("w", 60) == 1
    cache._cache.get_client().script_flush()
    assert cache.incr_with_expiry("w", 60) == 2


@pytest.mark.parametrize(
    ("cache_url", "backend"),
    [
        ("redis://cache.internal:6379/1", "swipes.redis_cache.RedisCache"),
        ("", "django.core.cache.backends.locmem.LocMemCache"),
    ],
)
def test_settings_use_it_when_cache_url_is_set(monkeypatch, cache_url, backend):
    monkeypatch.setenv("CACHE_URL", cache_url)
    caches = runpy.run_path(str(SETTINGS))["CACHES"]
    assert caches["default"]["BACKEND"] == backend
    if cache_url:
        assert caches["default"]["LOCATION"] == cache_url
