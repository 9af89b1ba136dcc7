"""bench/discovery.py's simulation, small: the smart order finds a swiper's city in fewer swipes."""

import numpy as np

from bench.discovery import simulate, swipes_until_for_good, swipes_until_hit_rate, synthetic_collection


def test_it_finds_the_favourite_city_in_fewer_swipes_with_the_smart_order():
    collection = synthetic_collection(np.random.default_rng(0), cities=32)
    runs = {s: simulate(collection, s, users=60, max_swipes=60, seed=0) for s in ("original", "llr+smart")}
    original, smart = runs["original"], runs["llr+smart"]
    assert np.median(swipes_until_for_good(smart, 3)) < 0.75 * np.median(swipes_until_for_good(original, 3))
    assert (smart[:, -1] < 3).mean() > (original[:, -1] < 3).mean()
    smart_half, original_half = swipes_until_hit_rate(smart, 3, 0.5), swipes_until_hit_rate(original, 3, 0.5)
    assert smart_half is not None and (original_half is None or smart_half < original_half)


def test_it_counts_swipes_until_the_city_stays_in_the_top():
    ranks = np.array([[5, 2, 0, 4, 1, 0], [0, 0, 0, 0, 0, 0], [9, 9, 9, 9, 9, 9], [0, 1, 2, 3, 2, 1]])
    assert swipes_until_for_good(ranks, 3).tolist() == [5, 1, 7, 5]
    assert swipes_until_for_good(ranks, 1).tolist() == [6, 1, 7, 7]
    assert swipes_until_hit_rate(ranks, 3, 0.5) == 1
    assert swipes_until_hit_rate(ranks, 1, 0.75) is None
