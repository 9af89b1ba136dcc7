"""Swipes under load: N concurrent simulated users against gunicorn + PostgreSQL on loopback.

In one run, against one gunicorn, with the same users, client and concurrency:

- ceiling: every user loops GET /healthz (a Django JSON view with no database work);
- floor:   every user loops GET /bench/floor (bench/server_urls.py: one committed INSERT of a tiny
           row through Django's connection, nothing else). No endpoint that records a swipe in
           PostgreSQL can beat it, so floor / ceiling bounds what swipe / ceiling can reach;
- bare:    every user loops POST /bench/bare (bench/server_urls.py): the least any swipe endpoint
           does with this stack (a CSRF-checked POST of a JSON body, the swiper found through the
           session, one committed INSERT, a JSON answer), without DRF, rate limit or scores. A
           tighter bound than the floor; each user's first, untimed call stores its session;
- swipe:   every user loops POST /api/swipes over photos in queue order (the endpoint alone);
- loop:    every user does what static/js/swipe.js does: POST /api/swipes for the card on screen
           with "next": 6, so the answer also carries the photos after the next card (the smart order
           picks them knowing this swipe); GET /api/photos/next only at page load (untimed) and
           after a failed swipe (reported as a count);
- paced:   the same loop at a human pace: each user looks at a photo for --think seconds
           (0.5-1.5 x, at random) before swiping it.

The phases take turns (ceiling, floor, bare, swipe, loop, paced, ceiling, ...) so that noise from other
processes falls on all of them alike. Every user first GETs / for its csrftoken cookie (not timed)
and keeps its session cookie. In the first three phases users are closed-loop (the next request
leaves when the previous answer arrives, no think time): they measure the server's capacity, and
their latency is mostly the wait in gunicorn's queue (mean latency = users / throughput). The
paced phase measures the latency a person would see with that many people swiping at once.

The load generator is one asyncio process with a minimal HTTP/1.1 client (keep-alive where the
server allows it); its CPU time is measured and shown next to gunicorn's and PostgreSQL's, per
request, so that the share of the two cores it takes from the server is visible.

Afterwards: every swiper's scores are recomputed from the log (must not drift) and the swipes
the clients saw acknowledged (201) are counted against the live swipes in the database.

    python -m bench.swipe_load [--users 32] [--duration 10] [--rounds 2] [--think 1] [--cities 256]
                               [--photos 5000] [--workers N] [--threads N] [--max-requests N] [--save]

gunicorn runs with the production config (cityvibes_site/gunicorn.conf.py); --workers, --threads,
--worker-class and --max-requests override it.

Uses its own database (default postgres://postgres@127.0.0.1:5432/cityvibes_bench, dropped and
recreated) and Redis database 12 as the cache (emptied).
"""

import argparse
import asyncio
import json
import os
import random
import resource
import runpy
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import swipe_data  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "swipe_load.txt"
HOST = "127.0.0.1"
PHASES = ("ceiling", "floor", "bare", "swipe", "loop", "paced")
KINDS = ("healthz", "floor", "bare", "swipe", "next")
PREFETCH = 5  # as static/js/swipe.js
BARE_PAYLOAD = {"photo": 1, "liked": True}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- a minimal HTTP/1.1 client ------------------------------------------------------------------


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive connection; reconnects when the server closed it (gunicorn's sync workers always do)."""

    def __init__(self, port: int, scheme_headers: str):
        self.port = port
        self.fixed = f"Host: {HOST}:{port}\r\n{scheme_headers}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, headers: str = "", body: bytes = b"") -> tuple[int, dict, bytes]:
        head = f"{method} {path} HTTP/1.1\r\n{self.fixed}{headers}Content-Length: {len(body)}\r\n\r\n".encode()
        for attempt in range(2):
            reused = self.writer is not None
            if not reused:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            self.writer.write(head + body)
            try:
                raw = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                self.close()
                if reused and attempt == 0:
                    continue  # an idle keep-alive connection the server had closed: nothing was processed
                raise
            break
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        response_headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                response_headers.setdefault(name.strip().lower(), []).append(value.strip())
        if "content-length" not in response_headers:
            raise HttpError(f"{method} {path}: response without Content-Length")
        data = await self.reader.readexactly(int(response_headers["content-length"][0]))
        if response_headers.get("connection", [""])[0].lower() == "close":
            self.close()
        return status, response_headers, data


@dataclass
class Tally:
    """Requests of one kind completed inside the measured window."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)

    def add(self, seconds: float, status: int, ok: bool) -> None:
        self.latencies.append(seconds)
        if not ok:
            self.errors[status] = self.errors.get(status, 0) + 1


class User:
    def __init__(self, port: int, scheme_headers: str, rng: random.Random):
        self.conn = Connection(port, scheme_headers)
        self.cookies: dict[str, str] = {}
        self.rng = rng
        self.acknowledged = 0  # swipes answered 201
        self.repeats = 0  # swipes answered 200 (already recorded)
        self.exhausted = False

    def _headers(self, *, post: bool) -> str:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = f"Cookie: {cookie}\r\n" if cookie else ""
        if post:
            headers += f"Content-Type: application/json\r\nX-CSRFToken: {self.cookies['csrftoken']}\r\n"
        return headers

    def _keep_cookies(self, headers: dict) -> None:
        for value in headers.get("set-cookie", []):
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    async def call(self, method: str, path: str, payload: dict | None = None) -> tuple[int, bytes]:
        body = json.dumps(payload).encode() if payload is not None else b""
        status, headers, data = await self.conn.request(method, path, self._headers(post=method == "POST"), body)
        self._keep_cookies(headers)
        return status, data

    async def start(self) -> None:
        status, _ = await self.call("GET", "/")
        if status != 200 or "csrftoken" not in self.cookies:
            raise HttpError(f"GET / answered {status} without a csrftoken cookie")

    async def swipe(
        self, photo_id: int, tally: Tally, window: tuple[float, float], *, next_n: int = 0
    ) -> list[int] | None:
        """POST /api/swipes; with next_n, also the next photos it answers with (their ids). None if it failed."""
        payload = {"photo": photo_id, "liked": self.rng.random() < 0.5}
        if next_n:
            payload["next"] = next_n
        sent = time.perf_counter()
        status, data = await self.call("POST", "/api/swipes", payload)
        done = time.perf_counter()
        if status == 201:
            self.acknowledged += 1
        elif status == 200:
            self.repeats += 1
        if window[0] <= sent and done <= window[1]:
            tally.add(done - sent, status, status in (200, 201))
        if status not in (200, 201):
            return None
        return [p["id"] for p in json.loads(data)["next_photos"]] if next_n else []

    async def run_requests(
        self, tally: Tally, window: tuple[float, float], method: str, path: str, payload: dict | None = None
    ) -> None:
        while time.perf_counter() < window[1]:
            sent = time.perf_counter()
            status, _ = await self.call(method, path, payload)
            done = time.perf_counter()
            if window[0] <= sent and done <= window[1]:
                tally.add(done - sent, status, status == 200)

    async def run_swipe(self, tallies: dict[str, Tally], window: tuple[float, float], photo_ids: list[int]) -> None:
        for photo_id in photo_ids:
            if time.perf_counter() >= window[1]:
                return
            await self.swipe(photo_id, tallies["swipe"], window)
        self.exhausted = True

    async def fetch_next(self, tally: Tally | None, window: tuple[float, float]) -> list[int] | None:
        """GET /api/photos/next as swipe.js asks for it (ids); timed into tally unless it is None."""
        sent = time.perf_counter()
        status, data = await self.call("GET", f"/api/photos/next?n={PREFETCH + 1}")
        done = time.perf_counter()
        if tally is not None and window[0] <= sent and done <= window[1]:
            tally.add(done - sent, status, status == 200)
        return [p["id"] for p in json.loads(data)["photos"]] if status == 200 else None

    async def run_loop(self, tallies: dict[str, Tally], window: tuple[float, float], think: float = 0.0) -> None:
        """As static/js/swipe.js: the page arrives with its first photos (here one untimed fetch); each
        swipe asks for the photos after the next card in the same request ("next": 6), and the card on
        screen stays; GET /api/photos/next again only after a swipe failed."""
        if think:
            await asyncio.sleep(self.rng.uniform(0, think))  # people do not all arrive at the same instant
        swiped: set[int] = set()
        queue = await self.fetch_next(None, window)
        if queue is None:
            raise HttpError("GET /api/photos/next failed at page load")
        while time.perf_counter() < window[1]:
            if not queue:
                self.exhausted = True
                return
            if think:  # looking at the card before swiping it
                await asyncio.sleep(self.rng.uniform(0.5, 1.5) * think)
            photo = queue.pop(0)
            swiped.add(photo)
            upcoming = await self.swipe(photo, tallies["swipe"], window, next_n=PREFETCH + 1)
            if upcoming is None:  # the swipe failed: swipe.js tops its queue up with a fetch
                upcoming = await self.fetch_next(tallies["next"], window) or []
            showing = queue[:1]  # the card now on screen stays; the ones after it are replaced
            queue = showing + [p for p in upcoming if p not in swiped and p not in showing][:PREFETCH]


# --- CPU accounting -------------------------------------------------------------------------------


def _proc_cpu(pid: int, *, reaped_children: bool = False) -> float:
    """utime + stime (+ cutime + cstime: the CPU of children it has reaped, e.g. recycled workers)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return sum(int(v) for v in fields[11 : 15 if reaped_children else 13]) / CLK_TCK


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                pass
    return found


def _machine_busy() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLK_TCK, sum(values) / CLK_TCK


class CpuMeter:
    """CPU seconds of gunicorn (master + workers), our database's PostgreSQL backends, Redis, this process.

    gunicorn's total includes workers recycled during the phase (the master reaps them). PostgreSQL
    backends that exit during a phase (their worker was recycled) are missed: an undercount.
    """

    def __init__(self, gunicorn_pid: int, database: str):
        self.gunicorn_pid = gunicorn_pid
        self.database = database
        self.redis_pid = self._redis_pid()

    @staticmethod
    def _redis_pid() -> int | None:
        from django.core.cache import cache

        try:
            return int(cache._cache.get_client().info("server")["process_id"])
        except Exception:
            return None

    def _backend_pids(self) -> list[int]:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.database]
            ).fetchall()
        return [r[0] for r in rows]

    def snapshot(self) -> dict:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy, total = _machine_busy()
        return {
            "gunicorn": {
                0: _proc_cpu(self.gunicorn_pid, reaped_children=True)
                + sum(_proc_cpu(p) for p in _children(self.gunicorn_pid))
            },
            "postgres": {p: _proc_cpu(p) for p in self._backend_pids()},
            "redis": {self.redis_pid: _proc_cpu(self.redis_pid)} if self.redis_pid else {},
            "client": usage.ru_utime + usage.ru_stime,
            "machine": (busy, total),
        }

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        spent = {}
        for key in ("gunicorn", "postgres", "redis"):
            spent[key] = sum(v - before[key].get(pid, 0.0) for pid, v in after[key].items())
        spent["client"] = after["client"] - before["client"]
        spent["machine_busy"] = after["machine"][0] - before["machine"][0]
        spent["machine_total"] = after["machine"][1] - before["machine"][1]
        return spent


# --- the run --------------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    seconds: float = 0.0
    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in KINDS})
    cpu: dict[str, float] = field(default_factory=dict)
    exhausted: int = 0

    def merge(self, seconds: float, tallies: dict[str, Tally], cpu: dict[str, float], exhausted: int) -> None:
        self.seconds += seconds
        for kind, tally in tallies.items():
            self.tallies[kind].latencies += tally.latencies
            for code, n in tally.errors.items():
                self.tallies[kind].errors[code] = self.tallies[kind].errors.get(code, 0) + n
        for key, value in cpu.items():
            self.cpu[key] = self.cpu.get(key, 0.0) + value
        self.exhausted += exhausted


async def run_phase(phase: str, args, port: int, scheme_headers: str, photo_ids: list[int], meter, seed: int):
    rng = random.Random(seed)
    users = [User(port, scheme_headers, random.Random(rng.random())) for _ in range(args.users)]
    await asyncio.gather(*(u.start() for u in users))
    if phase == "bare":  # the session exists before the window, as a swiper's does after their first swipe
        await asyncio.gather(*(u.call("POST", "/bench/bare", BARE_PAYLOAD) for u in users))
    tallies = {k: Tally() for k in KINDS}
    before = meter.snapshot() if meter else None
    now = time.perf_counter()
    window = (now, now + args.duration)
    if phase == "ceiling":
        jobs = [u.run_requests(tallies["healthz"], window, "GET", "/healthz") for u in users]
    elif phase == "floor":
        jobs = [u.run_requests(tallies["floor"], window, "GET", "/bench/floor") for u in users]
    elif phase == "bare":
        jobs = [u.run_requests(tallies["bare"], window, "POST", "/bench/bare", BARE_PAYLOAD) for u in users]
    elif phase == "swipe":
        # Each user starts at its own place in the queue: 32 transactions locking the same photo row
        # (the foreign key check's KEY SHARE lock) at the same instant is not what many people do.
        step = max(1, len(photo_ids) // len(users))
        queues = [photo_ids[i * step :] + photo_ids[: i * step] for i in range(len(users))]
        jobs = [u.run_swipe(tallies, window, queue) for u, queue in zip(users, queues)]
    elif phase == "loop":
        jobs = [u.run_loop(tallies, window) for u in users]
    else:
        jobs = [u.run_loop(tallies, window, think=args.think) for u in users]
    await asyncio.gather(*jobs)
    cpu = meter.spent(before, meter.snapshot()) if meter else {}
    for u in users:
        u.conn.close()
    return tallies, cpu, users


def gunicorn_command(args, port: int) -> tuple[list[str], dict[str, str]]:
    """The production gunicorn command (cityvibes_site/gunicorn.conf.py), bound to loopback, plus what it runs with."""
    command = [sys.executable, "-m", "gunicorn"]
    if args.gunicorn_config:
        command += ["-c", args.gunicorn_config]
    command += ["cityvibes_site.wsgi", "--bind", f"{HOST}:{port}", "--backlog", "2048"]
    for flag in ("workers", "threads", "worker_class", "max_requests"):
        value = getattr(args, flag)
        if value is not None:
            command += [f"--{flag.replace('_', '-')}", str(value)]
    effective = {"workers": 1, "threads": 1, "worker_class": "sync", "max_requests": 0, "keepalive": 2}
    if args.gunicorn_config:
        config = runpy.run_path(str(ROOT / args.gunicorn_config))
        effective.update({k: config[k] for k in effective if k in config})
    effective.update({k: v for k in effective if (v := getattr(args, k, None)) is not None})
    if effective["threads"] > 1 and effective["worker_class"] == "sync":
        effective["worker_class"] = "gthread"  # what gunicorn does
    return command, effective


def start_gunicorn(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    # The access log (stdout) is written, as in production, and thrown away; errors show on stderr.
    env = {**os.environ, **env, "GUNICORN_LOG_LEVEL": "warning"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with code {process.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(f"GET /healthz HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode())
                if s.recv(100).startswith(b"HTTP/1.1 "):
                    return process
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit("gunicorn did not answer within 60 s")


def scheme_headers_for(port: int) -> str:
    """Plain HTTP unless the settings insist on HTTPS; then speak as a TLS-terminating proxy would."""
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode())
        answer = s.recv(1000)
    if answer.split(b" ", 2)[1] in (b"301", b"302", b"308") and b"https://" in answer:
        origin = f"https://{HOST}:{port}"
        return f"X-Forwarded-Proto: https\r\nOrigin: {origin}\r\nReferer: {origin}/\r\n"
    return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def percentile_ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=32, help="concurrent simulated users")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase per round")
    parser.add_argument("--rounds", type=int, default=2, help="each phase runs this many times, interleaved")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured load per phase first")
    parser.add_argument(
        "--think", type=float, default=1.0, help="paced phase: mean seconds a user looks at a photo before swiping"
    )
    parser.add_argument("--cities", type=int, default=256)
    parser.add_argument("--photos", type=int, default=5000)
    parser.add_argument(
        "--gunicorn-config", default="cityvibes_site/gunicorn.conf.py", help="'' for gunicorn's own defaults"
    )
    parser.add_argument("--workers", type=int, help="override the config's worker processes")
    parser.add_argument("--threads", type=int, help="override the config's threads per worker")
    parser.add_argument("--worker-class", help="override the config's worker class (sync, gthread)")
    parser.add_argument("--max-requests", type=int, help="override the config's worker recycling (0: never)")
    parser.add_argument("--database-url", default=swipe_data.DEFAULT_DATABASE_URL)
    parser.add_argument("--cache-url", default=swipe_data.DEFAULT_CACHE_URL)
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    parser.add_argument("--save", action="store_true", help=f"also write the report to {RESULTS.relative_to(ROOT)}")
    parser.add_argument("--append", action="store_true", help="like --save, but add to the file")
    args = parser.parse_args()

    output = swipe_data.Report("bench.swipe_load")
    say = output.say

    env = swipe_data.bench_environment(database_url=args.database_url, cache_url=args.cache_url)
    swipe_data.recreate_database(args.database_url)
    swipe_data.setup_django(env)
    swipe_data.clear_cache()
    from django.core.management import call_command
    from django.db import connection

    from bench.server_urls import FLOOR_TABLE

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")

    call_command("collectstatic", interactive=False, verbosity=0)
    collection = swipe_data.seed_collection(cities=args.cities, photos=args.photos)
    say(
        f"collection: {args.cities} cities, {args.photos} photos with a {args.cities}-city vector each "
        f"(seeded in {collection.seconds:.1f} s); scoring rule {os.environ.get('CITYVIBES_SCORING_RULE', 'llr')}"
    )
    from swipes.services import prepare_contributions

    started = time.perf_counter()
    prepared = prepare_contributions(collection.photo_ids)
    say(
        f"as after every photo was swiped by someone: what a like and a dislike of each add is stored "
        f"({len(prepared):,} contributions in {time.perf_counter() - started:.1f} s), so a swipe only refers to it"
    )
    port = free_port()
    command, effective = gunicorn_command(args, port)
    say("server: " + shlex.join(["gunicorn", *command[3:]]))
    say(
        "        {workers} {worker_class} workers x {threads} threads, {keepalive_text}, "
        "max_requests {max_requests}; DEBUG off, PostgreSQL + Redis cache on loopback".format(
            **effective,
            keepalive_text="no keep-alive"
            if effective["worker_class"] == "sync"
            else f"keep-alive {effective['keepalive']} s",
        )
        + (
            f"; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}"
            if "OPENBLAS_NUM_THREADS" in os.environ
            else ""
        )
    )
    say(
        f"load: {args.users} users, {args.rounds} x {args.duration:g} s per phase, phases interleaved, after "
        f"{args.warmup:g} s warm-up each; no think time but in the paced phase ({args.think:g} s); "
        f"one asyncio client process"
    )
    server = start_gunicorn(command, {**env, "DJANGO_SETTINGS_MODULE": "bench.server_settings"}, port)
    results = {phase: PhaseResult() for phase in PHASES}
    all_users: list[User] = []
    try:
        scheme_headers = scheme_headers_for(port)
        if scheme_headers:
            say("(settings redirect plain HTTP to HTTPS: the client sends X-Forwarded-Proto: https like a proxy)")
        meter = CpuMeter(server.pid, args.database_url.rsplit("/", 1)[1])
        warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
        for phase in PHASES:
            _, _, users = asyncio.run(run_phase(phase, warm, port, scheme_headers, collection.photo_ids, None, 1))
            all_users += users
        for round_ in range(args.rounds):
            for phase in PHASES:
                started = time.perf_counter()
                tallies, cpu, users = asyncio.run(
                    run_phase(phase, args, port, scheme_headers, collection.photo_ids, meter, 100 + round_)
                )
                all_users += users
                results[phase].merge(args.duration, tallies, cpu, sum(u.exhausted for u in users))
                print(f"  round {round_ + 1} {phase}: done in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

    report(say, args, results, all_users, prepared=len(prepared))
    if args.save or args.append:
        output.save(RESULTS, append=args.append)
    if not args.keep_db:
        from django.db import connections

        connections.close_all()
        swipe_data.drop_database(args.database_url)
    swipe_data.remove_workdir(env)


def report(say, args, results: dict[str, PhaseResult], users: list[User], *, prepared: int) -> None:
    from swipes.models import Contribution, Swipe, UserSwipeData
    from swipes.services import recompute_scores

    rows = [
        ("ceiling", "GET /healthz", "healthz"),
        ("floor", "GET /bench/floor", "floor"),
        ("bare", "POST /bench/bare", "bare"),
        ("swipe", "POST /api/swipes", "swipe"),
        ("loop", "POST swipes + next", "swipe"),
        ("paced", "POST swipes + next", "swipe"),
    ]
    say()
    say(
        f"{'phase':8} {'request':21} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}  "
        f"{'CPU ms per request: gunicorn':>28} {'postgres':>8} {'redis':>6} {'client':>6}  {'machine busy':>12}"
    )
    rates: dict[str, float] = {}
    p99: dict[str, float] = {}
    for phase, label, kind in rows:
        result = results[phase]
        tally = result.tallies[kind]
        rate = len(tally.latencies) / result.seconds if result.seconds else 0.0
        rates[f"{phase}:{kind}"] = rate
        p99[f"{phase}:{kind}"] = percentile_ms(tally.latencies, 99)
        total = sum(len(t.latencies) for t in result.tallies.values()) or 1
        cpu = result.cpu
        per = {k: 1000 * cpu.get(k, 0.0) / total for k in ("gunicorn", "postgres", "redis", "client")}
        busy = cpu.get("machine_busy", 0.0) / (cpu.get("machine_total", 0.0) or 1)
        ours = sum(cpu.get(k, 0.0) for k in ("gunicorn", "postgres", "redis", "client")) / (
            cpu.get("machine_total", 0.0) or 1
        )
        cpu_text = (
            f"{per['gunicorn']:28.2f} {per['postgres']:8.2f} {per['redis']:6.2f} {per['client']:6.2f}  "
            f"{busy:5.0%} (ours {ours:3.0%})"
        )
        say(
            f"{phase:8} {label:21} {rate:7.0f} {percentile_ms(tally.latencies, 50):7.1f} "
            f"{percentile_ms(tally.latencies, 95):7.1f} {p99[f'{phase}:{kind}']:7.1f} "
            f"{sum(tally.errors.values()):6d}  {cpu_text}"
        )
    fetches = {phase: len(results[phase].tallies["next"].latencies) for phase in ("loop", "paced")}
    say(
        f"GET /api/photos/next after a failed swipe (as swipe.js; page loads are not timed): {fetches['loop']} in "
        f"the loop phase, {fetches['paced']} in the paced phase; their CPU is in those phases' per-request figures"
    )
    loop_requests = rates["loop:swipe"] + fetches["loop"] / (results["loop"].seconds or 1)
    ceiling = rates["ceiling:healthz"] or float("nan")
    say()
    say(f"swipes per second: {rates['swipe:swipe']:.0f} (endpoint alone), {rates['loop:swipe']:.0f} (in the loop)")
    say(f"swipe endpoint / ceiling throughput: {rates['swipe:swipe'] / ceiling:.2f}  (target >= 0.60)")
    say(
        f"floor (one committed INSERT) / ceiling throughput: {rates['floor:floor'] / ceiling:.2f}  "
        f"(no endpoint that writes to PostgreSQL can do better); swipe / floor: "
        f"{rates['swipe:swipe'] / (rates['floor:floor'] or float('nan')):.2f}"
    )
    say(
        f"bare swipe (POST JSON, session, one INSERT) / ceiling throughput: {rates['bare:bare'] / ceiling:.2f}  "
        f"(what the least a swipe endpoint does reaches with this stack); swipe / bare: "
        f"{rates['swipe:swipe'] / (rates['bare:bare'] or float('nan')):.2f}"
    )
    say(f"loop requests (fetch + swipe) / ceiling throughput: {loop_requests / ceiling:.2f}")
    ratio = rates["swipe:swipe"] / ceiling
    say(f"target, throughput: swipe endpoint / ceiling {ratio:.2f} >= 0.60: {'MET' if ratio >= 0.6 else 'NOT MET'}")
    little = 1000 * args.users / (rates["swipe:swipe"] or 1)
    for phase, how in (
        ("swipe", f"saturated (no think time; closed loop, so mean latency = users / throughput = {little:.0f} ms)"),
        ("paced", f"at a human pace (~{args.think:g} s per photo, {rates['paced:swipe']:.0f} swipes/s in all)"),
    ):
        value = p99[f"{phase}:swipe"]
        verdict = "MET" if value < 50 else "NOT MET"
        say(f"target, swipe p99 < 50 ms at {args.users} users, {how}: {value:.1f} ms {verdict}")
    if args.users != 32:
        say(f"note: the targets are set at 32 users; this run had {args.users}, so its verdicts do not settle them")
    shares = []
    for phase in ("ceiling", "floor", "bare", "swipe"):
        cpu = results[phase].cpu
        shares.append(f"{cpu.get('client', 0.0) / (cpu.get('machine_total', 0.0) or 1):.0%} in the {phase} phase")
    say(f"the load generator took {' and '.join(shares)} of the machine's CPU")
    exhausted = sum(r.exhausted for r in results.values())
    if exhausted:
        say(f"WARNING: {exhausted} user runs ran out of photos; use more --photos")
    errors = {phase: {k: t.errors for k, t in r.tallies.items() if t.errors} for phase, r in results.items()}
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        say(f"errors by status: {errors}")

    checked, drifts = recompute_scores(fix=False)
    acknowledged = sum(u.acknowledged for u in users)
    repeats = sum(u.repeats for u in users)
    live = Swipe.objects.filter(retracted_at__isnull=True).count()
    counted = sum(UserSwipeData.objects.values_list("swipe_count", flat=True))
    say()
    say(f"after the run: recompute_scores --check over {checked} swipers: {len(drifts)} drifted (must be 0)")
    say(
        f"swipes acknowledged to clients (201): {acknowledged}; live swipes in the log: {live}; "
        f"sum of swipe_count: {counted}; repeats answered 200: {repeats}  "
        f"({'nothing lost' if acknowledged == live == counted and not drifts else 'MISMATCH'})"
    )
    say(
        f"contributions stored by the run's swipes (vectors no swipe had added before): "
        f"{Contribution.objects.count() - prepared} (0 expected)"
    )


if __name__ == "__main__":
    main()
