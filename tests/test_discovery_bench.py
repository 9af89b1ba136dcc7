"""bench/discovery.py's simulation, small: the smart order finds a swiper's city in fewer swipes."""

import numpy as np

from bench.discovery import simulate, synthetic_collection


def test_it_finds_the_favourite_city_in_fewer_swipes_with_the_smart_order():
    collection = synthetic_collection(np.random.default_rng(0), cities=32)
    runs = {s: simulate(collection, s, users=60, max_swipes=60, seed=0) for s in ("original", "llr+smart")}
    original_to3, _, original_hit3, _ = runs["original"]
    smart_to3, _, smart_hit3, _ = runs["llr+smart"]
    assert np.median(smart_to3) < 0.75 * np.median(original_to3)
    assert smart_hit3.mean() > original_hit3.mean()
