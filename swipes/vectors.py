"""CityVector: a value per city (a swiper's scores, what one swipe adds). Pure NumPy, no Django.

The one representation of per-city numbers in the app: two arrays of the same length, city ids
(int64) and values (float64). Stored in the database as two binary columns (little-endian int64
ids, float64 values), not JSON: np.frombuffer and tobytes cost the same for 50 or 1,000 cities,
where a JSON object per city grew with every city.

Adding a vector to another puts the second's new cities after the first's; values are added city by
city in log order, so a running total equals a replay of the log exactly.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

CITY_DTYPE = np.dtype("<i8")
VALUE_DTYPE = np.dtype("<f8")


@dataclass(frozen=True, eq=False)
class CityVector:
    cities: np.ndarray  # (K,) int64 city ids
    values: np.ndarray  # (K,) float64

    @classmethod
    def empty(cls) -> "CityVector":
        return cls(np.zeros(0, dtype=CITY_DTYPE), np.zeros(0, dtype=np.float64))

    @classmethod
    def of(cls, cities: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray) -> "CityVector":
        ids, vals = np.asarray(cities, dtype=CITY_DTYPE), np.asarray(values, dtype=np.float64)
        if ids.shape != vals.shape:
            raise ValueError(f"{ids.size} cities but {vals.size} values")
        return cls(ids, vals)

    @classmethod
    def from_bytes(cls, cities: bytes | memoryview | None, values: bytes | memoryview | None) -> "CityVector":
        return cls.of(np.frombuffer(cities or b"", dtype=CITY_DTYPE), np.frombuffer(values or b"", dtype=VALUE_DTYPE))

    def __len__(self) -> int:
        return int(self.cities.size)

    def cities_bytes(self) -> bytes:
        return self.cities.astype(CITY_DTYPE, copy=False).tobytes()

    def values_bytes(self) -> bytes:
        return self.values.astype(VALUE_DTYPE, copy=False).tobytes()

    def digest(self) -> bytes:
        """32 bytes that tell this vector from any other (every city is 8 bytes of id, 8 of value)."""
        return hashlib.blake2b(self.cities_bytes() + self.values_bytes(), digest_size=32).digest()

    def as_dict(self) -> dict[str, float]:
        """{"city id": value}, e.g. {"12": 1.5}."""
        return {str(k): float(v) for k, v in zip(self.cities.tolist(), self.values.tolist())}

    def plus(self, other: "CityVector") -> "CityVector":
        """self + other, city by city (a city missing from one side counts as 0 there)."""
        if self.cities.shape == other.cities.shape and np.array_equal(self.cities, other.cities):
            return CityVector(self.cities, self.values + other.values)
        new = other.cities[~np.isin(other.cities, self.cities)]
        cities = np.concatenate([self.cities, new])
        values = np.concatenate([self.values, np.zeros(new.size)])
        order = np.argsort(cities, kind="stable")
        values[order[np.searchsorted(cities, other.cities, sorter=order)]] += other.values
        return CityVector(cities, values)

    def values_for(self, cities: np.ndarray) -> np.ndarray:
        """The values of these cities, in their order (0 for a city this vector does not have)."""
        out = np.zeros(len(cities))
        if len(self) == 0 or len(cities) == 0:
            return out
        order = np.argsort(self.cities, kind="stable")
        found = np.minimum(np.searchsorted(self.cities, cities, sorter=order), len(self) - 1)
        hit = self.cities[order[found]] == cities
        out[hit] = self.values[order[found[hit]]]
        return out

    def top(self, n: int) -> list[tuple[int, float]]:
        """The n best (city id, value), best first; ties go to the lower city id."""
        best = np.lexsort((self.cities, -self.values))[: max(0, n)]
        return [(int(self.cities[i]), float(self.values[i])) for i in best]


def replay(contributions: Iterable[CityVector]) -> CityVector:
    """The scores a swipe log adds up to (contributions in log order)."""
    total = CityVector.empty()
    for contribution in contributions:
        total = total.plus(contribution)
    return total
