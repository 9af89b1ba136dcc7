"""A polite HTTP client for harvesting photos, on the standard library (urllib).

What it enforces on every request, redirect hops included:
- Only URLs whose origin (scheme://host[:port]) is on the client's allow-list are fetched. Sources
  build that list from their configured base URLs, so by default it is HTTPS to the source's own
  hosts. Plain http is possible only when an operator configures an http base URL (tests do this
  with a local server); an https base never allows its http twin.
- Redirects are never followed automatically: a hop is followed only if its target is allowed.
- A descriptive User-Agent with a contact address: set CITYVIBES_HARVEST_CONTACT.
- One request at a time per host in this process, with at least CITYVIBES_HARVEST_MIN_INTERVAL
  seconds between the end of one and the start of the next (each worker process paces itself).
- Retries on 429, 5xx and network errors with exponential backoff (CITYVIBES_HARVEST_BACKOFF_BASE
  seconds, doubling), honouring Retry-After; gives up when the waits for one request would exceed
  CITYVIBES_HARVEST_MAX_WAIT seconds or after CITYVIBES_HARVEST_MAX_RETRIES retries.
- A timeout for connecting and reading each response, a byte cap per response and a byte cap for
  the client's lifetime (one harvest run): CITYVIBES_HARVEST_TIMEOUT, _MAX_RESPONSE_BYTES, _MAX_TOTAL_BYTES.

Each setting is read from Django settings, then the environment, then the default in this module.
"""

import email.utils
import http.client
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from typing import TypeVar
from urllib.parse import urlencode, urljoin, urlsplit

from django.conf import settings

T = TypeVar("T", str, int, float)

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024


def harvest_setting(name: str, default: T) -> T:
    """A harvesting setting: Django settings, else the environment variable, else the default."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return default if value is None else type(default)(value)


@dataclass(frozen=True)
class ClientConfig:
    contact: str = "cityvibes-admin@example.org"
    min_interval: float = 1.0
    timeout: float = 30.0
    max_retries: int = 4
    backoff_base: float = 2.0
    max_wait: float = 120.0
    max_response_bytes: int = 20 * 1024 * 1024
    max_total_bytes: int = 2 * 1024 * 1024 * 1024

    @classmethod
    def from_settings(cls) -> "ClientConfig":
        defaults = cls()
        return cls(
            contact=harvest_setting("CITYVIBES_HARVEST_CONTACT", defaults.contact),
            min_interval=harvest_setting("CITYVIBES_HARVEST_MIN_INTERVAL", defaults.min_interval),
            timeout=harvest_setting("CITYVIBES_HARVEST_TIMEOUT", defaults.timeout),
            max_retries=harvest_setting("CITYVIBES_HARVEST_MAX_RETRIES", defaults.max_retries),
            backoff_base=harvest_setting("CITYVIBES_HARVEST_BACKOFF_BASE", defaults.backoff_base),
            max_wait=harvest_setting("CITYVIBES_HARVEST_MAX_WAIT", defaults.max_wait),
            max_response_bytes=harvest_setting("CITYVIBES_HARVEST_MAX_RESPONSE_BYTES", defaults.max_response_bytes),
            max_total_bytes=harvest_setting("CITYVIBES_HARVEST_MAX_TOTAL_BYTES", defaults.max_total_bytes),
        )

    @property
    def user_agent(self) -> str:
        return f"CityVibes-PhotoHarvester/1.0 (city photo collection; contact: {self.contact}) python-urllib"


class FetchError(Exception):
    """A request that did not give a usable answer. `transient` errors may succeed on a later run."""

    def __init__(self, reason: str, *, transient: bool = False):
        super().__init__(reason)
        self.transient = transient


class ByteBudgetExhausted(FetchError):
    """The run downloaded as many bytes as it may: stop harvesting."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes


def origin_of(url: str) -> str:
    """'HTTPS://Upload.Example.org:443/a' -> 'https://upload.example.org'."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return ""
    default_port = {"http": 80, "https": 443}.get(scheme)
    host = (parts.hostname or "").lower()
    return f"{scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds to wait: either delta-seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _HostGate:
    """One request at a time to a host, with a pause between them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_start = 0.0


_gates: dict[str, _HostGate] = {}
_gates_lock = threading.Lock()


def _gate_for(origin: str) -> _HostGate:
    with _gates_lock:
        return _gates.setdefault(origin, _HostGate())


class _NoAutomaticRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status; the client decides


class PoliteClient:
    """GET requests to an allow-list of origins, paced, retried and capped (see the module docstring)."""

    def __init__(self, *, allowed_origins: Iterable[str], config: ClientConfig | None = None):
        self.allowed_origins = frozenset(origin_of(url) for url in allowed_origins)
        self.config = config or ClientConfig.from_settings()
        self.bytes_received = 0
        self._opener = urllib.request.build_opener(_NoAutomaticRedirects)

    def get(self, url: str, *, params: dict[str, str | int] | None = None, max_bytes: int | None = None) -> Response:
        """The 2xx response for URL, following allowed redirects. Raises FetchError otherwise."""
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._get_with_retries(url, max_bytes or self.config.max_response_bytes)
            if 200 <= response.status < 300:
                return response
            if response.status not in REDIRECT_STATUSES:
                raise FetchError(f"HTTP {response.status}")
            location = response.headers.get("Location")
            if not location:
                raise FetchError(f"HTTP {response.status} redirect without a Location")
            url = urljoin(url, location)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _check_allowed(self, url: str) -> None:
        origin = origin_of(url)
        if origin not in self.allowed_origins:
            raise FetchError(f"URL not allowed for this source: {origin or url[:100]}")

    def _get_with_retries(self, url: str, max_bytes: int) -> Response:
        self._check_allowed(url)
        waited = 0.0
        attempt = 0
        while True:
            try:
                response = self._send(url, max_bytes)
            except FetchError as error:
                if not error.transient:
                    raise
                problem, delay = str(error), None
            else:
                if response.status < 400:
                    return response
                if response.status != 429 and response.status < 500:
                    raise FetchError(f"HTTP {response.status}")
                problem = f"HTTP {response.status}"
                delay = retry_after_seconds(response.headers.get("Retry-After"))
            if delay is None:
                delay = self.config.backoff_base * 2**attempt
            attempt += 1
            if attempt > self.config.max_retries or waited + delay > self.config.max_wait:
                tries = f" (gave up after {attempt} attempts)" if attempt > 1 else ""
                raise FetchError(problem + tries, transient=True)
            time.sleep(delay)
            waited += delay

    def _send(self, url: str, max_bytes: int) -> Response:
        request = urllib.request.Request(url, headers={"User-Agent": self.config.user_agent})
        gate = _gate_for(origin_of(url))
        with gate.lock:
            pause = gate.next_start - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            try:
                return self._exchange(request, max_bytes)
            finally:
                gate.next_start = time.monotonic() + self.config.min_interval

    def _exchange(self, request: urllib.request.Request, max_bytes: int) -> Response:
        try:
            with self._opener.open(request, timeout=self.config.timeout) as raw:
                body = self._read(raw, max_bytes)
                return Response(status=raw.status, headers=raw.headers, body=body)
        except urllib.error.HTTPError as error:  # 3xx (not followed automatically), 4xx, 5xx
            error.close()
            return Response(status=error.code, headers=error.headers, body=b"")
        except urllib.error.URLError as error:
            raise FetchError(f"network error: {error.reason}", transient=True) from None
        except (OSError, http.client.HTTPException) as error:  # timeouts, resets, TLS errors
            raise FetchError(f"network error: {error.__class__.__name__}", transient=True) from None

    def _read(self, raw: http.client.HTTPResponse, max_bytes: int) -> bytes:
        declared = raw.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(f"response too large ({declared} bytes > {max_bytes})")
        deadline = time.monotonic() + self.config.timeout
        chunks, size = [], 0
        while chunk := raw.read(CHUNK_BYTES):
            size += len(chunk)
            self.bytes_received += len(chunk)
            if size > max_bytes:
                raise FetchError(f"response too large (over {max_bytes} bytes)")
            if self.bytes_received > self.config.max_total_bytes:
                raise ByteBudgetExhausted(f"byte cap for this run reached ({self.config.max_total_bytes} bytes)")
            if time.monotonic() > deadline:
                raise FetchError(f"response took longer than {self.config.timeout:g} s", transient=True)
            chunks.append(chunk)
        return b"".join(chunks)
