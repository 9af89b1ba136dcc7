"""Per-city vectors (a swiper's scores, what one swipe added) stored as bytes: pure NumPy, no Django.

A vector is two arrays of the same length: city ids (int64) and values. In the database each is a
binary column (little-endian int64 ids, float64 values), not JSON:
decoding and encoding JSON with one entry per city made every swipe cost more the more cities
there were (bench/swipe_cost.py measured 1.9x at 1,000 cities against 50). np.frombuffer and
tobytes cost the same for 50 or 1,000 cities.

Adding two vectors with the same city order (the common case: a swiper's scores and a swipe of
a photo from the current collection) is one array addition. Otherwise the result has the first
vector's cities followed by the second's new ones. Values are added one city at a time in log
order either way, so a running total equals a replay of the log exactly, and also equals
swipes.scoring.replay over the same contributions as dicts (x + 0.0 == x).
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

CITY_DTYPE = np.dtype("<i8")
SCORE_DTYPE = np.dtype("<f8")
CONTRIBUTION_DTYPE = np.dtype("<f8")


@dataclass(frozen=True, eq=False)
class CityVector:
    cities: np.ndarray  # (K,) int64 city ids
    values: np.ndarray  # (K,) float64

    @classmethod
    def empty(cls) -> "CityVector":
        return cls(np.zeros(0, dtype=CITY_DTYPE), np.zeros(0, dtype=np.float64))

    @classmethod
    def from_bytes(cls, cities: bytes | memoryview | None, values: bytes | memoryview | None, *, dtype) -> "CityVector":
        ids = np.frombuffer(cities or b"", dtype=CITY_DTYPE)
        vals = np.frombuffer(values or b"", dtype=dtype).astype(np.float64)
        if ids.shape != vals.shape:
            raise ValueError(f"a stored vector has {ids.size} cities but {vals.size} values")
        return cls(ids, vals)

    @classmethod
    def from_dict(cls, scores: Mapping[str, float]) -> "CityVector":
        """From {"city id": value}, cities in ascending id order."""
        items = sorted((int(k), float(v)) for k, v in scores.items())
        return cls(np.array([k for k, _ in items], dtype=CITY_DTYPE), np.array([v for _, v in items], dtype=np.float64))

    def __len__(self) -> int:
        return int(self.cities.size)

    def cities_bytes(self) -> bytes:
        return self.cities.astype(CITY_DTYPE, copy=False).tobytes()

    def values_bytes(self, dtype) -> bytes:
        return self.values.astype(dtype).tobytes()

    def as_dict(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in zip(self.cities.tolist(), self.values.tolist())}

    def same_cities(self, other: "CityVector") -> bool:
        return self.cities.shape == other.cities.shape and bool(np.array_equal(self.cities, other.cities))

    def plus(self, other: "CityVector") -> "CityVector":
        """self + other, city by city (a city missing from one side counts as 0 there)."""
        if self.same_cities(other):
            return CityVector(self.cities, self.values + other.values)
        if len(self) == 0:
            return CityVector(other.cities, np.zeros(len(other)) + other.values)
        new = other.cities[~np.isin(other.cities, self.cities)]
        cities = np.concatenate([self.cities, new])
        values = np.concatenate([self.values, np.zeros(new.size)])
        values[positions(cities, other.cities)] += other.values
        return CityVector(cities, values)

    def values_for(self, cities: np.ndarray) -> np.ndarray:
        """The values of these cities (0 for a city this vector does not have)."""
        out = np.zeros(len(cities))
        if len(self) == 0 or len(cities) == 0:
            return out
        order = np.argsort(self.cities, kind="stable")
        found = np.searchsorted(self.cities, cities, sorter=order)
        found = np.minimum(found, len(self) - 1)
        hit = self.cities[order[found]] == cities
        out[hit] = self.values[order[found[hit]]]
        return out

    def top(self, n: int) -> list[tuple[int, float]]:
        """The n best (city id, value), best first; ties broken by the id as text, like scoring.rank_cities."""
        if n <= 0 or len(self) == 0:
            return []
        if len(self) > n:
            threshold = np.partition(self.values, len(self) - n)[len(self) - n]
            picked = np.nonzero(self.values >= threshold)[0]
        else:
            picked = np.arange(len(self))
        items = [(int(self.cities[i]), float(self.values[i])) for i in picked]
        items.sort(key=lambda item: (-item[1], str(item[0])))
        return items[:n]


def digest_of(cities: bytes, values: bytes) -> bytes:
    """32 bytes that tell the vector stored as these bytes (cities_bytes, values_bytes) from any other."""
    # Every city has an 8-byte id and a value of one size, so the joined bytes split only one way.
    return hashlib.blake2b(cities + values, digest_size=32).digest()


def replay(contributions: Iterable[CityVector]) -> CityVector:
    """The scores a swipe log adds up to (contributions in log order)."""
    total = CityVector.empty()
    for contribution in contributions:
        total = total.plus(contribution)
    return total


def positions(cities: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index in `cities` of each of `wanted` (every wanted city must be present)."""
    order = np.argsort(cities, kind="stable")
    return order[np.searchsorted(cities, wanted, sorter=order)]
