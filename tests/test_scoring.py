"""swipes/scoring.py: the rules themselves, no database."""

import math

import numpy as np
import pytest

from bench.scoring import simulate
from swipes import scoring


def test_it_adds_the_vector_on_like_and_subtracts_on_dislike_with_the_sum_rule():
    p = np.array([0.7, 0.2, 0.1])
    assert scoring.swipe_contribution(p, True, rule="sum").tolist() == [0.7, 0.2, 0.1]
    assert scoring.swipe_contribution(p, False, rule="sum").tolist() == [-0.7, -0.2, -0.1]


def test_it_scores_a_like_by_log_likelihood_ratio_against_the_mean():
    p = np.array([0.8, 0.2])
    m = np.array([0.5, 0.5])
    e = scoring.LLR_EPSILON
    like = scoring.swipe_contribution(p, True, rule="llr", mean=m)
    nope = scoring.swipe_contribution(p, False, rule="llr", mean=m)
    assert like[0] == pytest.approx(math.log((0.8 + e) / (0.5 + e)))
    assert like[1] == pytest.approx(math.log((0.2 + e) / (0.5 + e)))
    assert nope[0] == pytest.approx(math.log((0.2 + e) / (0.5 + e)))
    assert like[0] > 0 > nope[0]


def test_it_gives_zero_when_a_photo_looks_exactly_like_the_average_photo():
    m = np.array([0.25, 0.25, 0.5])
    assert np.allclose(scoring.swipe_contribution(m, True, rule="llr", mean=m), 0)
    assert np.allclose(scoring.swipe_contribution(m, False, rule="llr", mean=m), 0)


def test_it_refuses_unknown_rules_and_missing_means():
    with pytest.raises(ValueError, match="unknown scoring rule"):
        scoring.swipe_contribution(np.ones(2), True, rule="magic")
    with pytest.raises(ValueError, match="mean vector"):
        scoring.swipe_contribution(np.ones(2), True, rule="llr")


def test_it_finds_the_favourite_city_at_least_as_often_as_the_sum_rule_without_favouring_big_cities():
    """Why llr is the default: the same hit rate (within sampling noise), and no prize for the biggest city."""
    llr = simulate("llr", seed=11, users=1500)
    summed = simulate("sum", seed=11, users=1500)
    assert llr["top1"] >= summed["top1"] - 0.03
    fair = 1 / 30
    assert summed["popular"] > 3 * fair  # the sum rule hands the biggest city to keen likers
    assert llr["popular"] < 2 * fair


def test_it_stops_keen_likers_from_always_getting_the_biggest_city():
    keen_llr = simulate("llr", seed=5, users=200, like_rates=(0.6, 0.9))
    keen_sum = simulate("sum", seed=5, users=200, like_rates=(0.6, 0.9))
    assert keen_sum["popular"] > 0.4
    assert keen_llr["popular"] < 0.1
    assert keen_llr["top1"] > keen_sum["top1"]
