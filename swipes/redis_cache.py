"""Django's Redis cache backend, minus a redis.Redis object per cache operation.

django.core.cache.backends.redis.RedisCacheClient.get_client() builds a new `redis.Redis` around
the (shared) connection pool on every get, set, incr...; redis-py's constructor fills its table
of ~170 response callbacks each time, which costs more CPU than the rest of a cache.get(). Here
the client object is built once per connection pool and reused. A redis.Redis without
single_connection_client keeps no connection of its own (it borrows one from the pool per
command), so one object serves every thread, as redis-py documents. After a fork the memoized
client still points at the same pool, and the pool notices the new process id and opens fresh
connections, exactly as it does for the stock backend.

Everything else (LOCATION, OPTIONS, serializer, pool and parser classes, key handling) is the
stock backend's. One addition, incr_with_expiry(), is the rate limits' counter
(swipes/throttling.py) in one atomic round trip.

    CACHES = {"default": {"BACKEND": "swipes.redis_cache.RedisCache", "LOCATION": "redis://host:6379/1"}}
"""

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

# INCR, and when that created the key, give it its lifetime: atomic, as Redis runs a script
# without interleaving other commands (and keys do not expire in the middle of one).
INCR_WITH_EXPIRY = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        # Keyed by the pool object itself (not its index), so a client is never paired with a pool
        # other than the one it was built around. Two threads may both build one for a new pool:
        # harmless, the last one stored wins and both work.
        self._clients = {}
        self._incr_with_expiry = None

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client

    def incr_with_expiry(self, key, timeout):
        client = self.get_client(key, write=True)
        if self._incr_with_expiry is None:
            # EVALSHA once the script is loaded; redis-py loads it again if the server forgot it.
            self._incr_with_expiry = client.register_script(INCR_WITH_EXPIRY)
        return int(self._incr_with_expiry(keys=[key], args=[timeout], client=client))


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def incr_with_expiry(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> int:
        """Add 1 to the count at `key` and return the new count; a missing key starts at 0 and expires
        `timeout` seconds after that first increment (later ones do not extend it).

        The same as add(key, 0, timeout) then incr(key), but one round trip instead of three, and atomic:
        the stock incr() is EXISTS then INCR, so a key expiring in between would come back without an
        expiry. `timeout` must be a positive number of seconds (the default timeout if not given).
        """
        key = self.make_and_validate_key(key, version=version)
        timeout = self.get_backend_timeout(timeout)
        if not timeout:  # None (never expire) or 0 (expire at once): not what a counter in a window means
            raise ValueError(f"incr_with_expiry needs a positive timeout, got {timeout!r}")
        return self._cache.incr_with_expiry(key, timeout)
