"""Scoring rules for swipes: pure NumPy, no Django.

A photo's vector p gives, for each city, how much the photo looks like that city.
A swipe turns p into a *contribution* per city; a swiper's score is the sum of the
contributions of their live swipes, in log order (swipes.vectors.replay).

Rules
- ``sum``: the original design. Like adds p, dislike subtracts p. Cities with many
  photos collect score from sheer exposure: a user who likes most photos ends up
  recommended whatever city the collection has most of.
- ``llr``: log-likelihood ratio of the swipe under "this user loves city c" (they like a
  photo with probability p_c) against "this user is indifferent to c" (probability m_c,
  the collection's mean vector). Like adds log((p_c+e)/(m_c+e)); dislike adds
  log((1-p_c+e)/(1-m_c+e)). Exposure cancels out, so popular cities do not win by default.
  bench/scoring.py and tests/test_scoring.py measure the difference on simulated swipers.
"""

import numpy as np

RULES = ("llr", "sum")
LLR_EPSILON = 0.25


def swipe_contribution(
    vector: np.ndarray, liked: bool, *, rule: str, mean: np.ndarray | None = None, epsilon: float = LLR_EPSILON
) -> np.ndarray:
    """What one swipe of a photo with this vector adds to each city's score (the same cities, in order)."""
    p = np.asarray(vector, dtype=np.float64)
    if rule == "sum":
        return p if liked else -p
    if rule == "llr":
        if mean is None:
            raise ValueError("the llr rule needs the collection's mean vector")
        m = np.asarray(mean, dtype=np.float64)
        if m.shape != p.shape:
            raise ValueError(f"vector has shape {p.shape} but mean has {m.shape}")
        if liked:
            return np.log((p + epsilon) / (m + epsilon))
        return np.log((1.0 - p + epsilon) / (1.0 - m + epsilon))
    raise ValueError(f"unknown scoring rule {rule!r}; choose one of {', '.join(RULES)}")
