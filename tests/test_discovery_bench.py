"""bench/discovery.py, small: its simulated people find their kind of place sooner with the taste model."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.discovery import Collection, QueueSum, Taste, collection_a, make_person, simulate

ROOT = Path(__file__).resolve().parent.parent


def test_the_taste_model_finds_a_decisive_persons_favourites_more_often_than_the_seeds_queue():
    collection: Collection = collection_a(np.random.default_rng(0), 48)
    taste_cell = simulate(collection, "kind", Taste(collection, 0), users=40, seed=1, swipes=20)
    queue_cell = simulate(collection, "kind", QueueSum(collection, 0), users=40, seed=1, swipes=20)
    assert np.mean(taste_cell.hits[20]) > np.mean(queue_cell.hits[20])
    assert max(taste_cell.longest_run) <= 3  # never a fourth card of one city in a row
    assert max(taste_cell.most_in_8) <= 3  # nor a fourth among any 8 in a row


def test_a_simulated_person_likes_their_kind_of_place_more_than_the_rest():
    collection = collection_a(np.random.default_rng(0), 48)
    person = make_person(np.random.default_rng(3), collection, "kind")
    theirs = collection.vibe[collection.labels] == person.vibe
    assert person.like[theirs].mean() > person.like[~theirs].mean() + 0.3


def test_it_prints_every_table_and_the_targets_in_a_smoke_run():
    run = subprocess.run(
        [sys.executable, "-m", "bench.discovery", "--users", "3", "--cities", "50", "--no-timing", "--no-oracle"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert re.search(r"^\| taste \| [\d.]+ \| [\d.]+ \| [\d.]+ \|", run.stdout, flags=re.M), run.stdout[-2000:]
    assert "calibration" in run.stdout.lower() or "gap" in run.stdout
    # The results page's headline sentence, measured as the page words it.
    assert "gap P(kind) headline" in run.stdout
    assert re.search(r"^  taste: a leader named in [\d.]+ of the readings", run.stdout, flags=re.M), run.stdout[-2000:]
