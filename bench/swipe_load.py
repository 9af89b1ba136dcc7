"""Swipes under load: concurrent simulated users against gunicorn + PostgreSQL + Redis on loopback.

The guard for the swipe write path (bench/README.md). In one run, against one gunicorn, phases take
turns (bare, swipe, paced, bare, ...) so that noise from other processes falls on all of them alike:

- bare:  every user loops POST /bench/bare (bench/server_urls.py): the least any swipe endpoint does
         with this stack (a CSRF-checked POST of a JSON body, the session, one committed INSERT, a JSON
         answer), without DRF, rate limit or scores. `swipe / bare` is the price of everything else.
- swipe: every user loops POST /api/swipes over photos in queue order, no think time.
- paced: what static/js/swipe.js does, at a human pace: each user looks at a photo for --think seconds
         (0.5-1.5 x, at random), then POSTs /api/swipes with "next": 6 (the answer carries the photos
         after the next card). The latency a person would see with that many people swiping at once.

Afterwards every swiper's scores are recomputed from the log (must not drift), and the swipes the
clients saw acknowledged (201) are counted against the live swipes in the database.

    python -m bench.swipe_load [--users 32] [--duration 10] [--rounds 2] [--think 1] [--save]

Uses its own database (default postgres://postgres@127.0.0.1:5432/cityvibes_bench, dropped and
recreated) and Redis database 12 as the cache (emptied). gunicorn runs with cityvibes_site/gunicorn.conf.py.
"""

import argparse
import asyncio
import json
import os
import random
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
PHASES = ("bare", "swipe", "paced")
PREFETCH = 6  # as static/js/swipe.js asks for with each swipe


class Browser:
    """One simulated person: a keep-alive HTTP/1.1 connection (reopened when the server closes it) and cookies."""

    def __init__(self, port: int, rng: random.Random):
        self.port, self.rng = port, rng
        self.cookies: dict[str, str] = {}
        self.reader = self.writer = None
        self.acknowledged = 0  # swipes answered 201
        self.repeats = 0  # swipes answered 200 (already recorded)

    async def call(self, method: str, path: str, payload: dict | None = None) -> tuple[int, bytes]:
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = f"Host: {HOST}:{self.port}\r\nContent-Length: {len(body)}\r\n"
        if self.cookies:
            headers += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
        if method == "POST":
            headers += f"Content-Type: application/json\r\nX-CSRFToken: {self.cookies['csrftoken']}\r\n"
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{headers}\r\n".encode() + body)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = [line.partition(":") for line in head[1:] if line]
        length = next(int(v) for k, _, v in fields if k.lower() == "content-length")
        data = await self.reader.readexactly(length)
        for k, _, v in fields:
            if k.lower() == "set-cookie":
                name, _, rest = v.strip().partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        if any(k.lower() == "connection" and v.strip().lower() == "close" for k, _, v in fields):
            self.close()
        return int(head[0].split(" ", 2)[1]), data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def swipe(self, photo_id: int, latencies: list[float], window, *, next_n: int = 0) -> list[int] | None:
        """POST /api/swipes, timed into `latencies` when inside the window; the next photo ids (None: failed)."""
        payload = {"photo": photo_id, "liked": self.rng.random() < 0.5, **({"next": next_n} if next_n else {})}
        sent = time.perf_counter()
        status, data = await self.call("POST", "/api/swipes", payload)
        if window[0] <= sent and time.perf_counter() <= window[1]:
            latencies.append(time.perf_counter() - sent)
        self.acknowledged += status == 201
        self.repeats += status == 200
        if status not in (200, 201):
            return None
        return [p["id"] for p in json.loads(data).get("next_photos", [])]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0


async def bare_loop(user: Browser, tally: Tally, window) -> None:
    await user.call("POST", "/bench/bare", {"photo": 1})  # stores the session, as a first swipe does
    while time.perf_counter() < window[1]:
        sent = time.perf_counter()
        await user.call("POST", "/bench/bare", {"photo": 1, "liked": True})
        if window[0] <= sent and time.perf_counter() <= window[1]:
            tally.latencies.append(time.perf_counter() - sent)


async def swipe_loop(user: Browser, tally: Tally, window, queue: list[int]) -> None:
    for photo_id in queue:
        if time.perf_counter() >= window[1]:
            return
        await user.swipe(photo_id, tally.latencies, window)


async def paced_loop(user: Browser, tally: Tally, window, think: float) -> None:
    """As static/js/swipe.js: the page's first photos, then each swipe brings the photos after the next card."""
    await asyncio.sleep(user.rng.uniform(0, think))  # people do not all arrive at the same instant
    status, data = await user.call("GET", f"/api/photos/next?n={PREFETCH}")
    queue = [p["id"] for p in json.loads(data)["photos"]] if status == 200 else []
    while queue and time.perf_counter() < window[1]:
        await asyncio.sleep(user.rng.uniform(0.5, 1.5) * think)  # looking at the card
        photo = queue.pop(0)
        upcoming = await user.swipe(photo, tally.latencies, window, next_n=PREFETCH) or []
        queue = queue[:1] + [p for p in upcoming if p not in queue[:1] and p != photo][: PREFETCH - 1]


async def run_phase(phase: str, args, port: int, photo_ids: list[int], seed: int, duration: float):
    rng = random.Random(seed)
    users = [Browser(port, random.Random(rng.random())) for _ in range(args.users)]
    for user in users:
        await user.call("GET", "/")  # the csrftoken cookie, untimed
    tally = Tally(seconds=duration)
    start = time.perf_counter()
    window = (start, start + duration)
    if phase == "bare":
        jobs = [bare_loop(u, tally, window) for u in users]
    elif phase == "swipe":
        # Each user starts at its own place in the queue, as many people do, not all on one photo.
        step = max(1, len(photo_ids) // len(users))
        jobs = [
            swipe_loop(u, tally, window, photo_ids[i * step :] + photo_ids[: i * step]) for i, u in enumerate(users)
        ]
    else:
        jobs = [paced_loop(u, tally, window, args.think) for u in users]
    await asyncio.gather(*jobs)
    for user in users:
        user.close()
    return tally, users


def start_gunicorn(env: dict[str, str], port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "-c", "cityvibes_site/gunicorn.conf.py", "cityvibes_site.wsgi"]
    command += ["--bind", f"{HOST}:{port}", "--backlog", "2048"]
    env = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": "bench.server_settings", "GUNICORN_LOG_LEVEL": "warning"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with code {process.returncode}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit("gunicorn did not answer within 60 s")


def percentile_ms(values: list[float], q: float) -> float:
    ordered = sorted(values) or [float("nan")]
    return 1000 * ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=32, help="concurrent simulated people")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase per round")
    parser.add_argument("--rounds", type=int, default=2, help="each phase runs this many times, interleaved")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured load per phase first")
    parser.add_argument("--think", type=float, default=1.0, help="paced: mean seconds a person looks at a photo")
    parser.add_argument("--cities", type=int, default=256)
    parser.add_argument("--photos", type=int, default=5000)
    parser.add_argument("--database-url", default=swipe_data.DEFAULT_DATABASE_URL)
    parser.add_argument("--cache-url", default=swipe_data.DEFAULT_CACHE_URL)
    parser.add_argument("--save", action="store_true", help=f"also write the report to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    output = swipe_data.Report("bench.swipe_load")
    env = swipe_data.bench_environment(database_url=args.database_url, cache_url=args.cache_url)
    swipe_data.recreate_database(args.database_url)
    swipe_data.setup_django(env)
    swipe_data.clear_cache()
    from django.core.management import call_command

    from bench.server_urls import create_bare_table

    call_command("collectstatic", interactive=False, verbosity=0)  # the pages' CSS, as scripts/serve does
    create_bare_table()
    collection = swipe_data.seed_collection(cities=args.cities, photos=args.photos)
    stored = swipe_data.store_contributions(collection.photo_ids)
    output.say(
        f"collection: {args.cities} cities, {args.photos} photos with a {args.cities}-city vector each; what a like "
        f"and a nope of each add is stored ({stored:,} contributions), as once every photo has been swiped by someone"
    )
    output.say(
        f"load: {args.users} users, {args.rounds} x {args.duration:g} s per phase, phases interleaved, after "
        f"{args.warmup:g} s warm-up each; gunicorn -c cityvibes_site/gunicorn.conf.py, DEBUG off"
    )
    port = swipe_data.free_port()
    server = start_gunicorn(env, port)
    results = {phase: Tally() for phase in PHASES}
    users: list[Browser] = []
    try:
        for round_ in range(-1, args.rounds):  # round -1: the warm-up, not counted
            for phase in PHASES:
                duration = args.warmup if round_ < 0 else args.duration
                tally, phase_users = asyncio.run(run_phase(phase, args, port, collection.photo_ids, round_, duration))
                users += phase_users
                if round_ >= 0:
                    results[phase].latencies += tally.latencies
                    results[phase].seconds += tally.seconds
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=40)
    report(output.say, args, results, users)
    if args.save:
        output.save(RESULTS)
    from django.db import connections

    connections.close_all()
    swipe_data.drop_database(args.database_url)
    swipe_data.remove_workdir(env)


def report(say, args, results: dict[str, Tally], users: list[Browser]) -> None:
    from swipes.models import Swipe, UserSwipeData
    from swipes.services import recompute_scores

    say()
    say(f"{'phase':6} {'request':28} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    labels = {"bare": "POST /bench/bare", "swipe": "POST /api/swipes", "paced": "POST /api/swipes + next, paced"}
    rate = {phase: len(t.latencies) / (t.seconds or 1) for phase, t in results.items()}
    for phase, tally in results.items():
        cells = [percentile_ms(tally.latencies, q) for q in (50, 95, 99)]
        say(f"{phase:6} {labels[phase]:28} {rate[phase]:7.0f} " + " ".join(f"{c:7.1f}" for c in cells))
    say()
    ratio = rate["swipe"] / (rate["bare"] or float("nan"))
    say(f"swipe / bare: {ratio:.2f}  (guard: >= 0.30)")
    paced_p99 = percentile_ms(results["paced"].latencies, 99)
    say(f"swipe p99 at a human pace, {args.users} users: {paced_p99:.1f} ms  (guard: < 50 ms)")
    checked, drifts = recompute_scores(fix=False)
    acknowledged = sum(u.acknowledged for u in users)
    live = Swipe.objects.filter(retracted_at__isnull=True).count()
    counted = sum(UserSwipeData.objects.values_list("swipe_count", flat=True))
    say(f"recompute_scores --check over {checked} swipers: {len(drifts)} drifted  (guard: 0)")
    say(
        f"swipes acknowledged (201): {acknowledged}; live swipes in the log: {live}; sum of swipe_count: {counted}; "
        f"repeats answered 200: {sum(u.repeats for u in users)}  "
        f"({'each logged exactly once' if acknowledged == live == counted else 'MISMATCH'})"
    )


if __name__ == "__main__":
    main()
