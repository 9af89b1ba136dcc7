"""A person's taste in places, from their swipes: pure NumPy, no Django.

How well it finds simulated people's cities, how calibrated its stated numbers are, and how long a
pick takes: bench/discovery.py, latest numbers in bench/results/discovery.txt.

The model
---------
Photos live in a small space where look-alike places are close. Each photo's CNN vector p over
K cities becomes log(p + eps) centred per photo (only the vector's shape counts) and per city; a
PCA of rank r = clip(K / 4, 8, 64) gives every photo r coordinates. Each photo is then pulled
toward the mean of its labelled city (the label says what the photo shows, the vector which
cities it looks like), and a city's centroid is the mean of its photos. Cities are grouped into a
tree by average linkage of their centroids: the tree's nodes are the candidate *kinds* of place
(look-alike families low in the tree, vibes higher up).

A person is one of H *taste hypotheses* (a few hundred to a few thousand), h = (favourite city
f, kind k containing f): they love f, like f's close look-alikes nearly as much, like the rest
of k somewhat, and everything else not at all. In a collection of at most PAIRS_UP_TO cities the
tree has few kinds, so every pair {f, g} is a kind too, and the plateau grid gets 1.0: two
favourites that look nothing alike. For a photo at distance d from f's centroid, of a
city in or out of k:

    affinity_h = peak * (bump + plateau * (1 - bump) * [photo's city in k])
    bump = exp(-d^2 / (2 s_f^2))         s_f: the distance from f to its nearest other city,
                                         at most the look-alike distance (_bump_width)

plus one hypothesis "no particular taste" (affinity 0). People also like photos for reasons no
city explains: P(like) = base + (1 - base) * affinity, with a small lapse rate (mis-swipes) mixed
in. Two nuisance parameters are unknown and marginalised exactly over a small grid: the base rate
(0.02 ... 0.93: someone who likes everything is a high base rate, not a winner) and the plateau,
how much they like the rest of their kind (0.3 "somewhat", 0.75 "nearly as much as f").

The posterior over (base rate, hypothesis) is computed exactly from the whole swipe log whenever
it is read (nothing is stored per person, so it never drifts). The log-likelihood can be tempered
(x temper < 1); with these hypotheses the untempered posterior was the better calibrated one
(bench/discovery.py --ablations), so temper defaults to 1.

Read-outs per city: the expected share of its photos the person likes (and its sd); P(it is the
same kind of place as their favourite): the posterior over the favourite summed over the cities
whose "home kind" contains it (a city's home kind is the largest tree node around it whose cities
are clearly closer to each other than to the rest), and in small collections also the cities a
hypothesis says are liked as much as the favourite; P(it is the favourite, the centre of their
taste); and the evidence (swiped photos of it or its look-alikes), so that unseen cities can be
shown as "not shown yet". Next photos: a seeded random first card (each person their own), then
one card per kind of place not shown yet (4 to 10 cards in all, so they cover the collection's
variety), then any photo; each time the most informative one (mutual information between the
answer and the hypothesis) among a sample of candidates; never more than 3 cards of one city among
any 8 in a row (so never a 4th in a row) while others remain.

Memory per worker, N photos, K cities, H hypotheses (H ~ 2-3 K), rank r <= 64:
    N x (4 r + 16) bytes  coordinates, label, city, row lists
  + K x K x 5             look-alike kernel between cities, home kinds
  + H x K x 5             kinds, typical-photo affinity
No N x K or N x H array is kept; building reads the (N, K) matrix in chunks of rows (peak ~120 MB
at 100,000 x 1,000). 10,000 x 256: ~6 MB; 100,000 x 1,000: ~80 MB (bench/discovery.py measures both).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

LOG_EPS = 1e-3
PULL = 0.8
MAX_RANK = 64
PEAK = 0.9
PLATEAUS = (0.3, 0.75)
BASE_RATES = (0.02, 0.08, 0.15, 0.25, 0.4, 0.6, 0.8, 0.93)
NO_TASTE_PRIOR = 0.05
TEMPER = 1.0
LAPSE = 0.03
EXPLORE_CARDS = (4, 10)  # first cards of a kind of place not shown yet: at least 4, at most 10
CANDIDATES = 200
MAX_PER_WINDOW, WINDOW = 3, 8  # at most 3 cards of one city among any 8 in a row, while others remain
PAIRS_UP_TO = 16  # collections of at most this many cities also have "f and one other city" kinds
LOOK_ALIKE = 0.4  # cities this close (x the median distance between two cities) are look-alikes
MIN_NATURAL = 0.05
CLEAR_KIND = 0.3
# Mutual information over the 64 leading favourites only: next_photos 6.9 -> 2.2 ms at 5,000 photos x 256
# cities (30 swipes), with the same hit rates in bench.discovery (60 people per cell, both collections).
MAX_FAVOURITES = 64
CHUNK = 4096

History = Sequence[tuple[int, bool]]


@dataclass(frozen=True)
class TasteModel:
    """What one collection's taste model needs, built once per process by build_model."""

    coords: np.ndarray  # (N, r) float32: photo coordinates, pulled toward their city
    labels: np.ndarray  # (N,) int32: labelled city, -1 if none
    photo_city: np.ndarray  # (N,) int32: labelled city, or the nearest centroid if none
    centroids: np.ndarray  # (K, r) float32: city centroids
    bump_width: np.ndarray  # (K,) float32: s_f, the look-alike scale around each city
    city_bump: np.ndarray  # (K, K) float32: bump of city c's centroid around city f's, [c, f]
    city_near: np.ndarray  # (K, H) float32: bump of each city's centroid around each hypothesis' favourite
    hyp_city: np.ndarray  # (H,) int32: favourite city of each hypothesis (sorted), -1 = no taste (last)
    kind: np.ndarray  # (H, K) bool: the cities of each hypothesis' kind
    home_kind: np.ndarray  # (K, K) bool: row f, the cities of f's most natural kind (its "kind of place")
    log_prior: np.ndarray  # (G, H) float64: prior over (grid row, hypothesis)
    base_rates: np.ndarray  # (G,) float64: the base rate of each row of the nuisance grid
    plateaus: np.ndarray  # (G,) float64: the plateau of each row of the nuisance grid
    city_rows: tuple[np.ndarray, ...]  # K arrays: the rows of each city's labelled photos
    look_alike: np.ndarray | None = None  # (K, K) bool: close look-alikes (_look_alikes)
    city_affinity: tuple[np.ndarray, ...] = ()  # per plateau, (K, H) float64: see build_model
    peak: float = PEAK
    lapse: float = LAPSE
    temper: float = TEMPER
    explore_cards: int = EXPLORE_CARDS[1]

    @property
    def photos(self) -> int:
        return len(self.coords)

    @property
    def cities(self) -> int:
        return len(self.centroids)


@dataclass(frozen=True)
class CityRanking:
    """Per city (arrays of length K, indexed by city column), and `order`: cities best first."""

    order: np.ndarray  # (K,) int: cities by expected_like, best first
    expected_like: np.ndarray  # (K,) share of the city's photos the person is expected to like
    like_sd: np.ndarray  # (K,) posterior sd of that share
    p_kind: np.ndarray  # (K,) probability the city is of the same kind of place as the person's favourite
    p_favourite: np.ndarray  # (K,) probability the city is the centre of their taste
    evidence: np.ndarray  # (K,) swiped photos of the city or its close look-alikes (kernel-weighted count)
    shown: np.ndarray  # (K,) bool: a photo of the city or of a close look-alike was swiped; else "not shown yet"
    liked: np.ndarray  # (K,) int: swiped photos of the city or its close look-alikes that were liked ...
    swiped: np.ndarray  # (K,) int: ... of how many swiped ("you liked 7 of 8 photos like these")
    swiped_own: np.ndarray  # (K,) int: swiped photos labelled with the city itself (0: known from look-alikes)


@dataclass(frozen=True)
class TasteState:
    """What the whole log says, for the page's special cases."""

    swipes: int
    likes: int
    p_likes_everything: float  # P(base rate >= 0.6): likes most photos whatever they show
    p_likes_little: float  # P(base rate <= 0.08): likes few photos beyond their taste
    p_no_particular_taste: float  # P(the "no particular taste" hypothesis)
    best_like: float  # the highest expected like share of any city
    label: str  # "empty", "likes everything", "likes nothing", "no likes yet", "exploring" or "taste found"


# ---------------------------------------------------------------- building


def build_model(
    probs: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    rank: int | None = None,
    pull: float = PULL,
    base_rates: Sequence[float] = BASE_RATES,
    plateaus: Sequence[float] = PLATEAUS,
    no_taste_prior: float = NO_TASTE_PRIOR,
    **settings: float,
) -> TasteModel:
    """The taste model of a collection: probs (N, K) are the photos' CNN vectors, labels (N,) their
    labelled city column or -1. Reads probs in chunks of rows; keeps no (N, K) copy. `settings`
    override the model's peak, lapse, temper or explore_cards."""
    n, k = probs.shape
    labels = np.asarray(labels, dtype=np.int32).reshape(n)
    rank = min(MAX_RANK, max(8, k // 4)) if rank is None else rank
    coords = _embed(probs, max(1, min(rank, k - 1)))
    centroids = _city_centroids(probs, coords, labels)
    has = labels >= 0
    coords[has] = (1 - pull) * coords[has] + pull * centroids[labels[has]]
    photo_city = np.where(has, labels, _nearest(coords, centroids)).astype(np.int32)
    d2 = _squared_distances(centroids, centroids)
    bump_width = _bump_width(d2)
    city_bump = np.exp(-d2 / (2 * bump_width[None, :] ** 2)).astype(np.float32)
    hyp_city, kind, weight, home_kind = _hypotheses(np.sqrt(d2), city_bump)
    kinds = len(np.unique(home_kind, axis=0))
    settings.setdefault("explore_cards", int(np.clip(kinds, *EXPLORE_CARDS)))
    if k <= PAIRS_UP_TO and plateaus == PLATEAUS:
        plateaus = (*PLATEAUS, 1.0)  # the other city of a pair liked as much as f: two favourites
    base, plateau = (g.ravel() for g in np.meshgrid(np.asarray(base_rates, float), np.asarray(plateaus, float)))
    per_city = np.bincount(hyp_city[:-1], weights=weight[:-1], minlength=k)
    prior = np.append((1 - no_taste_prior) / k * weight[:-1] / per_city[hyp_city[:-1]], no_taste_prior)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    model = TasteModel(
        coords=coords,
        labels=labels,
        photo_city=photo_city,
        centroids=centroids,
        bump_width=bump_width,
        city_bump=city_bump,
        city_near=np.append(city_bump[:, hyp_city[:-1]], np.zeros((k, 1), np.float32), axis=1),
        hyp_city=hyp_city,
        kind=kind,
        home_kind=home_kind,
        log_prior=np.log(np.broadcast_to(prior / len(base), (len(base), len(prior)))),
        base_rates=base,
        plateaus=plateau,
        city_rows=tuple(order[bounds[c] : bounds[c + 1]] for c in range(k)),
        **settings,
    )
    # Each city's typical photo's affinity under every hypothesis, per plateau: the same for everyone, so
    # computed once (K x H x 8 bytes per plateau: 2.6 MB at 256 cities); rank_cities 1.1 -> 0.5 ms.
    city_affinity = tuple(
        affinity(model, model.city_near, model.kind.T, p).astype(np.float64) for p in np.unique(model.plateaus)
    )
    return replace(model, city_affinity=city_affinity, look_alike=_look_alikes(centroids))


def _clr(p: np.ndarray) -> np.ndarray:
    """log(p + eps), centred per photo: what is left is the shape of the vector, not its scale."""
    x = np.log(np.asarray(p, dtype=np.float64) + LOG_EPS)
    return x - x.mean(axis=1, keepdims=True)


def _embed(probs: np.ndarray, rank: int) -> np.ndarray:
    """(N, rank) float32 coordinates: a rank-r PCA of the photos' centred log-vectors, in chunks."""
    n, k = probs.shape
    gram, total = np.zeros((k, k)), np.zeros(k)
    for start in range(0, n, CHUNK):
        x = _clr(probs[start : start + CHUNK])
        total += x.sum(axis=0)
        x = x.astype(np.float32)
        gram += x.T @ x
    mean = total / max(n, 1)
    _, vectors = np.linalg.eigh(gram / max(n, 1) - np.outer(mean, mean))
    top = vectors[:, ::-1][:, :rank]
    coords = np.empty((n, rank), dtype=np.float32)
    for start in range(0, n, CHUNK):
        coords[start : start + CHUNK] = (_clr(probs[start : start + CHUNK]) - mean) @ top
    return coords


def _city_centroids(probs: np.ndarray, coords: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean coordinates of each city's labelled photos; a city without any gets the mean of all
    photos weighted by their probability of it."""
    k = probs.shape[1]
    has = labels >= 0
    counts = np.bincount(labels[has], minlength=k).astype(np.float64)
    sums = np.zeros((k, coords.shape[1]))
    np.add.at(sums, labels[has], coords[has])
    missing = counts == 0
    if missing.any():
        weighted, weights = np.zeros((k, coords.shape[1])), np.zeros(k)
        for start in range(0, len(coords), CHUNK):
            p = np.asarray(probs[start : start + CHUNK], dtype=np.float64)
            weighted += p.T @ coords[start : start + CHUNK]
            weights += p.sum(axis=0)
        sums[missing], counts[missing] = weighted[missing], np.maximum(weights[missing], 1e-12)
    return (sums / counts[:, None]).astype(np.float32)


def _nearest(coords: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    out = np.empty(len(coords), dtype=np.int64)
    for start in range(0, len(coords), CHUNK):
        out[start : start + CHUNK] = _squared_distances(coords[start : start + CHUNK], centroids).argmin(axis=1)
    return out


def _squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n, m) squared distances, in float64: photos sit close to their centroid, and float32 would
    lose most digits of |x|^2 - 2 x.y + |y|^2 there."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    d2 = (x * x).sum(axis=1)[:, None] - 2 * (x @ y.T) + (y * y).sum(axis=1)[None, :]
    return np.maximum(d2, 0)


def _bump_width(d2: np.ndarray) -> np.ndarray:
    """Each city's look-alike scale: the distance to its nearest other city, floored, and capped at
    the look-alike distance (LOOK_ALIKE times the median distance between two cities): a city with no
    close look-alike has a narrow bump, so that loving it says little about cities that merely happen
    to be its nearest (in a small collection of distinct cities, every other city)."""
    if len(d2) < 2:
        return np.ones(len(d2), dtype=np.float32)
    off = ~np.eye(len(d2), dtype=bool)
    nearest = np.sqrt(np.where(off, d2, np.inf).min(axis=1))
    cap = LOOK_ALIKE * np.median(np.sqrt(d2[off]))
    return np.clip(nearest, 0.25 * np.median(nearest) + 1e-6, max(cap, 1e-6)).astype(np.float32)


def _look_alikes(centroids: np.ndarray) -> np.ndarray:
    """(K, K) bool: [a, b] when city b is a close look-alike of city a (or b is a): their centroids are
    at most LOOK_ALIKE times the median distance between two cities apart. What the page calls
    "photos like these"; unlike the bump, it does not make every city's nearest neighbour a look-alike.
    On bench/discovery.py's collections at 256 cities it finds the families of look-alikes (85-98 % of
    the pairs it finds are in one family; it finds 93-100 % of those pairs)."""
    d = np.sqrt(_squared_distances(centroids, centroids))
    off = ~np.eye(len(d), dtype=bool)
    if not off.any():
        return ~off
    return (d <= LOOK_ALIKE * np.median(d[off])) & off | ~off


def _kind_tree(distance: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Candidate kinds: nodes of an average-linkage tree of the cities (member lists) of at most
    half the cities, and how natural each is: log(height at which it merges into its parent /
    height at which it formed). A family of look-alikes or a vibe forms low and stays apart long (a
    large ratio); a node that only adds one more city to a cluster merges again at once (ratio ~1)
    and is dropped below MIN_NATURAL."""
    k = len(distance)
    d = distance.astype(np.float64)
    np.fill_diagonal(d, np.inf)
    members = [np.array([c]) for c in range(k)]
    formed = np.zeros(k)  # height at which each slot's cluster formed
    kinds, natural = [], []
    for _ in range(k - 1):
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        height = float(d[i, j])
        for slot in (i, j):
            if 1 < len(members[slot]) <= k / 2:
                kinds.append(members[slot])
                natural.append(np.log(max(height, 1e-12) / max(formed[slot], 1e-12)))
        si, sj = len(members[i]), len(members[j])
        merged = (si * d[i] + sj * d[j]) / (si + sj)
        d[i], d[:, i] = merged, merged
        d[i, i] = np.inf
        d[j], d[:, j] = np.inf, np.inf
        members[i], formed[i] = np.concatenate([members[i], members[j]]), height
    keep = np.array(natural) >= MIN_NATURAL
    return [m for m, ok in zip(kinds, keep) if ok], np.array(natural)[keep] if len(natural) else np.zeros(0)


def _hypotheses(distance: np.ndarray, city_bump: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(favourite city, kind, prior weight) of every hypothesis, sorted by city, the last one "no
    particular taste" (weight 0 here); and each city's home kind. Hypotheses: each city alone (it
    and its look-alikes, through the bump), and with every kept tree node containing it that
    reaches beyond its look-alikes (at least half the node outside bump 0.3) or is its home kind,
    weighted by how natural the node is; alone weighs as much as the median node.

    The home kind is what the page calls "your kind of place", so it is always a taste the model can
    hold. In a small, tight vibe most cities are within f's bump, and before it was kept only when it
    reached beyond them: on bench/discovery.py's uneven collection (b, 256 cities), a hypothesis
    matched f's vibe for 45 % of the cities of small vibes. Keeping it (553 -> 634 hypotheses), a
    favourite in the top 10 after 20 / 40 swipes, 750 people each over five seeds: population kind
    0.54 / 0.76 -> 0.59 / 0.81, vibe 0.37 / 0.52 -> 0.36 / 0.55; collection a is unchanged."""
    k = len(distance)
    kinds, natural = _kind_tree(distance)
    nodes = np.zeros((len(kinds), k), dtype=bool)
    for row, members in enumerate(kinds):
        nodes[row, members] = True
    home, home_node = _home_kinds(nodes, natural, city_bump)
    alone_weight = float(np.median(natural)) if len(natural) else 1.0
    cities, kind_rows, weights = [], [], []
    for f in range(k):
        alone = np.zeros((1, k), dtype=bool)
        alone[0, f] = True
        beyond = (nodes & (city_bump[:, f] < 0.3)[None, :]).sum(axis=1) >= nodes.sum(axis=1) / 2
        rows = nodes[:, f] & beyond
        if home_node[f] >= 0:
            rows[home_node[f]] = True
        pairs = _pairs(f, k) if k <= PAIRS_UP_TO else np.zeros((0, k), dtype=bool)
        kind_rows.append(np.vstack([alone, nodes[rows], pairs]))
        pair_weights = np.full(len(pairs), alone_weight / max(len(pairs), 1))
        weights.append(np.concatenate([[alone_weight], natural[rows], pair_weights]))
        cities.append(np.full(1 + int(rows.sum()) + len(pairs), f))
    kind = np.vstack(kind_rows + [np.zeros((1, k), dtype=bool)])
    hyp_city = np.concatenate(cities + [np.array([-1])]).astype(np.int32)
    return hyp_city, kind, np.concatenate(weights + [np.zeros(1)]), home


def _pairs(f: int, k: int) -> np.ndarray:
    """(k - 1, k) bool: f with each other city. In a small collection of distinct cities the tree has
    few kinds, and someone who loves two unrelated cities (Denver and Seattle) would otherwise be
    explained as liking most things; together these weigh as much as f alone."""
    pairs = np.zeros((k - 1, k), dtype=bool)
    pairs[:, f] = True
    pairs[np.arange(k - 1), [g for g in range(k) if g != f]] = True
    return pairs


def _home_kinds(nodes: np.ndarray, natural: np.ndarray, city_bump: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K, K) bool: each city's kind of place: the largest tree node containing it that is clearly
    apart (naturalness >= CLEAR_KIND: its cities are >= 35 % closer to each other than to the rest),
    else its most natural node (with the city's look-alikes), else the city and its look-alikes
    (bump >= 0.3). And (K,) the row of `nodes` that is exactly each city's kind, -1 if none is."""
    home = (city_bump >= 0.3).T | np.eye(len(city_bump), dtype=bool)
    home_node = np.full(len(home), -1)
    sizes = nodes.sum(axis=1)
    for f in range(len(home)):
        rows = np.flatnonzero(nodes[:, f])
        clear = rows[natural[rows] >= CLEAR_KIND]
        if len(clear):
            home_node[f] = clear[np.argmax(sizes[clear])]
            home[f] = nodes[home_node[f]]
        elif len(rows):
            row = rows[np.argmax(natural[rows])]
            if not (home[f] & ~nodes[row]).any():  # the look-alikes are inside the node
                home_node[f] = row
            home[f] = nodes[row] | home[f]
    return home, home_node


# ---------------------------------------------------------------- posterior


def affinity(model: TasteModel, near: np.ndarray, in_kind: np.ndarray, plateau: float) -> np.ndarray:
    """(n, H) affinity under every hypothesis, from the items' bump around each hypothesis'
    favourite (n, H) and whether the item's city is in its kind (n, H), for one plateau."""
    return model.peak * (near + np.float32(plateau) * (1 - near) * in_kind)


def _near_and_kind(model: TasteModel, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, H) bump of each photo around each hypothesis' favourite, and (n, H) its city in the kind."""
    d2 = _squared_distances(model.coords[rows], model.centroids)
    bump = np.exp(-d2 / (2 * model.bump_width**2)).astype(np.float32)
    near = np.zeros((len(rows), len(model.hyp_city)), dtype=np.float32)
    near[:, :-1] = bump[:, model.hyp_city[:-1]]
    return near, model.kind[:, model.photo_city[rows]].T


def _like_probability(model: TasteModel, base: float | np.ndarray, aff: np.ndarray) -> np.ndarray:
    """P(like) for a base rate and affinities, with the lapse rate mixed in."""
    return model.lapse + (1 - 2 * model.lapse) * (base + (1 - base) * aff)


def _split(history: History) -> tuple[np.ndarray, np.ndarray]:
    rows = np.fromiter((int(r) for r, _ in history), dtype=np.intp, count=len(history))
    liked = np.fromiter((bool(x) for _, x in history), dtype=bool, count=len(history))
    return rows, liked


def _swipe_log_likelihoods(model: TasteModel, history: History) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per plateau: (the grid rows g of that plateau, (G_p, s, H) log-likelihood of each swipe under
    each hypothesis), all base rates of the plateau at once."""
    rows, liked = _split(history)
    near, in_kind = _near_and_kind(model, rows)
    for plateau in np.unique(model.plateaus):
        aff = affinity(model, near, in_kind, plateau)
        grid = np.flatnonzero(model.plateaus == plateau)
        p = _like_probability(model, model.base_rates[grid].astype(np.float32)[:, None, None], aff[None])
        p[:, ~liked] = 1 - p[:, ~liked]
        yield grid, np.log(p)


def posterior(model: TasteModel, history: History) -> np.ndarray:
    """(G, H) posterior over (nuisance grid row, hypothesis) after the swipes in `history` ((row,
    liked) pairs, each photo once, any order), exact: the tempered log-likelihood of every swipe
    plus the log-prior."""
    log_post = model.log_prior.copy()
    if len(history):
        for grid, log_lik in _swipe_log_likelihoods(model, history):
            log_post[grid] += model.temper * log_lik.sum(axis=1, dtype=np.float64)
    w = np.exp(log_post - log_post.max())
    return w / w.sum()


def within(model: TasteModel, post: np.ndarray, cities: np.ndarray) -> np.ndarray:
    """The posterior given that the person's favourite is one of `cities` ((K,) bool), as someone says
    who narrows the list to "big cities in the West": hypotheses centred elsewhere drop out (their
    look-alikes elsewhere still carry evidence). Someone with no particular taste would land on these
    cities as often as a favourite drawn from the prior does, so "no particular taste" keeps that share
    of its weight. It used to keep all of it: in a cut to 4-49 of 256 cities that is ~10x its share of
    the prior, and every stated P(kind) was too low. bench.discovery, "taste, 2 taps", seed 0, 100
    people, collections a / b, gap of P(kind) for the top 10: 256 cities kind 0.023 / 0.028 -> 0.018 /
    0.015, vibe 0.032 / 0.057 -> 0.019 / 0.027, noisy 0.039 / 0.057 -> 0.014 / 0.036; 50 cities noisy
    0.080 / 0.097 -> 0.031 / 0.042; the ranking the same."""
    keep = np.append(cities[model.hyp_city[:-1]], True).astype(np.float64)
    prior = np.exp(model.log_prior).sum(axis=0)[:-1]
    keep[-1] = prior[keep[:-1] > 0].sum() / prior.sum()
    w = post * keep
    return w / w.sum()


# ---------------------------------------------------------------- read-outs


def rank_cities(model: TasteModel, history: History, post: np.ndarray | None = None) -> CityRanking:
    """Every city's expected liking (share of its typical photos liked, with sd), P(of your kind),
    P(the favourite) and evidence, ordered by expected liking."""
    w = posterior(model, history) if post is None else post
    # like = c0_g + c1_g * a: first and second moments over (grid row g, hypothesis h)
    scale = 1 - 2 * model.lapse
    c0 = (model.lapse + scale * model.base_rates)[:, None]
    c1 = (scale * (1 - model.base_rates))[:, None]
    mean = np.full(model.cities, float((w * c0).sum()))
    second = np.full(model.cities, float((w * c0 * c0).sum()))
    for plateau, aff in zip(np.unique(model.plateaus), model.city_affinity):
        g = model.plateaus == plateau
        mean += aff @ (w[g] * c1[g]).sum(axis=0)
        second += aff @ (2 * w[g] * c0[g] * c1[g]).sum(axis=0) + (aff * aff) @ (w[g] * c1[g] ** 2).sum(axis=0)
    wh = w.sum(axis=0)
    p_favourite = np.bincount(model.hyp_city[:-1], weights=wh[:-1], minlength=model.cities)
    liked, swiped, swiped_own = _swipe_counts(model, history)
    return CityRanking(
        order=np.argsort(-mean, kind="stable"),
        expected_like=mean,
        like_sd=np.sqrt(np.maximum(second - mean * mean, 0)),
        p_kind=_p_kind(model, w, p_favourite),
        p_favourite=p_favourite,
        evidence=_evidence(model, history),
        shown=swiped > 0,
        liked=liked,
        swiped=swiped,
        swiped_own=swiped_own,
    )


def _p_kind(model: TasteModel, w: np.ndarray, p_favourite: np.ndarray) -> np.ndarray:
    """(K,) P(the city is the person's kind of place): it is of the favourite's home kind or, under a
    plateau of 1.0 (small collections: the rest of the kind liked as much as f, as with two favourites
    such as Denver and Seattle), in the hypothesis' kind. Before the second part, someone who liked 9 of
    9 Seattle and 7 of 7 Denver photos read "Seattle: your kind of place with a 52 % chance", the
    posterior split between the two as the favourite. Calibration gap of this number for the top 10 in
    bench/discovery.py at 16 cities (collection b, 150 people): population two 0.299 -> 0.287, kind
    0.081 -> 0.060, vibe 0.064 -> 0.054; collections of more than 16 cities have no plateau of 1.0."""
    equal = model.plateaus == 1.0
    if not equal.any():
        return p_favourite @ model.home_kind
    theirs = model.kind[:-1] | model.home_kind[model.hyp_city[:-1]]  # (H - 1, K) under a plateau of 1.0
    rest = np.bincount(model.hyp_city[:-1], weights=w[~equal].sum(axis=0)[:-1], minlength=model.cities)
    return rest @ model.home_kind + w[equal].sum(axis=0)[:-1] @ theirs


def _swipe_counts(model: TasteModel, history: History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K,) per city: the liked and the swiped photos of the city or of one of its close look-alikes, and
    the swiped photos labelled with the city itself."""
    rows, liked = _split(history)
    alike = model.look_alike[:, model.photo_city[rows]]  # (K, s)
    labels = model.labels[rows]
    own = np.bincount(labels[labels >= 0], minlength=model.cities)
    return alike[:, liked].sum(axis=1), alike.sum(axis=1), own


def _evidence(model: TasteModel, history: History) -> np.ndarray:
    """(K,) kernel-weighted count of swiped photos at or near each city (1 per photo of the city)."""
    if not len(history):
        return np.zeros(model.cities)
    rows, _ = _split(history)
    d2 = _squared_distances(model.coords[rows], model.centroids)
    return np.exp(-d2 / (2 * model.bump_width**2)).sum(axis=0)


def influence(model: TasteModel, history: History, cities: Sequence[int], post: np.ndarray | None = None) -> np.ndarray:
    """(len(cities), s): how much each swipe moved each city's expected liking: the derivative of its
    expected_like with respect to counting that swipe once more, i.e. the posterior covariance of the
    city's liking with the swipe's tempered log-likelihood. Positive: it raised the city. Sort by
    |influence|. The swipes' log-likelihoods are computed once for all the cities (the results page
    asks for 10: 146 -> 24 ms at 300 swipes, 627 -> 106 ms at 1,000, 256 cities, best of 3)."""
    cities = np.asarray(cities, dtype=np.intp)
    if not len(history):
        return np.zeros((len(cities), 0))
    w = posterior(model, history) if post is None else post
    kind = model.kind[:, cities].T.astype(np.float32)  # (C, H)
    like = np.stack(
        [
            _like_probability(model, b, affinity(model, model.city_near[cities], kind, p))
            for b, p in zip(model.base_rates, model.plateaus)
        ],
        axis=1,
    ).astype(np.float64)  # (C, G, H)
    centred = w * (like - (w * like).sum(axis=(1, 2), keepdims=True))
    out = np.zeros((len(cities), len(history)))
    for grid, log_lik in _swipe_log_likelihoods(model, history):
        out += model.temper * np.einsum("gsh,cgh->cs", log_lik.astype(np.float64), centred[:, grid])
    return out


def taste_state(
    model: TasteModel, history: History, post: np.ndarray | None = None, ranking: CityRanking | None = None
) -> TasteState:
    """How to describe the log as a whole, for the page:

    - "empty": no swipes; "likes everything": P(base rate >= 0.6) >= 0.5 and likes for at least 3/4
      of the cities seen ("be pickier"; someone the deck showed mostly their own kind of place likes
      most of what they saw, and nopes the rest);
    - "likes nothing": P(base rate <= 0.08) >= 0.8 and no city is expected to get even a quarter of
      likes (nothing stands out *in what was shown*: kinds not shown yet stay open);
    - "no likes yet": no likes, too few swipes to say more;
    - "taste found": some city is of the favourite's kind with P >= 0.8; else "exploring".
    """
    rows, liked = _split(history)
    if not len(history):
        prior = np.exp(model.log_prior)
        return TasteState(0, 0, 0.0, 0.0, float(prior[:, -1].sum()), 0.0, "empty")
    w = posterior(model, history) if post is None else post
    ranking = rank_cities(model, history, w) if ranking is None else ranking
    p_all = float(w[model.base_rates >= 0.6].sum())
    p_little = float(w[model.base_rates <= 0.08].sum())
    best = float(ranking.expected_like.max())
    seen_cities = np.unique(model.photo_city[rows])
    liked_cities = np.unique(model.photo_city[rows[liked]])
    if p_all >= 0.5 and len(liked_cities) >= 0.75 * len(seen_cities):
        label = "likes everything"
    elif p_little >= 0.8 and best < 0.25:
        label = "likes nothing"
    elif not liked.any():
        label = "no likes yet"
    else:
        label = "taste found" if float(ranking.p_kind.max()) >= 0.8 else "exploring"
    return TasteState(len(history), int(liked.sum()), p_all, p_little, float(w[:, -1].sum()), best, label)


# ---------------------------------------------------------------- next photos


def next_photos(
    model: TasteModel,
    history: History,
    n: int = 1,
    *,
    seed: int = 0,
    post: np.ndarray | None = None,
    cities: np.ndarray | None = None,
) -> np.ndarray:
    """Rows of the next `n` photos to show after `history` (its rows excluded), in order; only photos
    of `cities` ((K,) bool) when given (fewer than n when they run out).

    The first card is a seeded random photo (a different start per person). Every later card is the
    candidate whose answer tells most about the hypothesis (mutual information), with a little seeded
    jitter, one city per card within a batch when possible; up to the `explore_cards`-th card, only
    photos of a kind of place not shown yet compete (while any is among the candidates), so the first
    cards cover the collection's variety. No card makes one city's cards more than MAX_PER_WINDOW among
    WINDOW in a row while photos of other cities remain: a run limit alone (4 in a row) let one city
    fill 18 of 30 cards after the first 10 (bench.discovery, collection b, kind, 40 people; now at most
    12 of 30). A favourite in the top 10 after 10/20/40 swipes was nowhere lower by more than 0.02
    (256 cities, seeds 0-2; 256 with two taps, 50 and 16 cities, seeds 0-1; collections a and b,
    populations kind, vibe and two).

    Those first cards were spread out in coordinates before: far-off photos that told little. Choosing
    them by information among the kinds not shown yet, a favourite in the top 10 after 20 swipes
    (bench.discovery, 256 cities, seeds 0-3, 450 people per cell): kind a 0.64 -> 0.65, b 0.53 -> 0.62;
    vibe a 0.38 -> 0.37, b 0.33 -> 0.35 (seeds 4-7 on a: kind 0.60 -> 0.64, vibe 0.37 -> 0.35); still
    10 cities and 10 vibes in the first 10 cards.
    """
    rows, _ = _split(history)
    available = np.ones(model.photos, dtype=bool)
    available[rows] = False
    if cities is not None:
        available &= cities[model.photo_city]
    rng = np.random.default_rng(seed)
    ranked = np.empty(0, dtype=np.intp)
    if len(history) + n > 1:  # any card but a person's very first
        w = posterior(model, history) if post is None else post
        candidates = _candidates(model, available, w, rng)
        gain = _information(model, w, candidates) * (1 + 0.05 * rng.random(len(candidates)))
        ranked = candidates[np.argsort(-gain, kind="stable")]
    recent = [int(c) for c in model.labels[rows[-(WINDOW - 1) :]]]
    picks: list[int] = []
    for _ in range(min(n, int(available.sum()))):
        allowed = _allowed(model, available, recent)
        shown = np.concatenate([rows, picks]).astype(np.intp)
        if not len(shown):
            row = int(rng.choice(np.flatnonzero(allowed)))
        elif len(shown) < model.explore_cards:
            row = _best_allowed(model, ranked, _new_kinds(model, allowed, shown, ranked), picks, rng)
        else:
            row = _best_allowed(model, ranked, allowed, picks, rng)
        picks.append(row)
        available[row] = False
        recent = (recent + [int(model.labels[row])])[-(WINDOW - 1) :]
    return np.array(picks, dtype=np.intp)


def _best_allowed(model: TasteModel, ranked: np.ndarray, allowed: np.ndarray, picks: list[int], rng) -> int:
    """The best-ranked allowed row, preferring a city not yet in this batch."""
    ok = ranked[allowed[ranked]]
    if not len(ok):
        return int(rng.choice(np.flatnonzero(allowed)))
    fresh = ok[~np.isin(model.photo_city[ok], model.photo_city[picks])] if picks else ok
    return int(fresh[0] if len(fresh) else ok[0])


def _allowed(model: TasteModel, available: np.ndarray, recent: list[int]) -> np.ndarray:
    """Available rows, minus those of the cities with MAX_PER_WINDOW cards among the `recent` ones (the
    last WINDOW - 1), unless nothing else remains."""
    cities, counts = np.unique([c for c in recent if c >= 0], return_counts=True)
    full = cities[counts >= MAX_PER_WINDOW]
    if not len(full):
        return available
    allowed = available.copy()
    for city in full:
        allowed[model.city_rows[city]] = False
    return allowed if allowed.any() else available


def _sample(mask: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `size` distinct rows where the mask is true, seeded (all of them if fewer)."""
    rows = np.flatnonzero(mask)
    if len(rows) <= size:
        return rows
    return rows[np.unique(rng.integers(0, len(rows), size))]


def _new_kinds(model: TasteModel, allowed: np.ndarray, shown: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """The allowed rows whose city is outside the home kind of every city shown; all allowed rows if
    no candidate is there."""
    covered = model.home_kind[model.photo_city[shown]].any(axis=0)
    new = allowed & ~covered[model.photo_city]
    return new if new[ranked].any() else allowed


def _candidates(model: TasteModel, available: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A seeded sample of available rows, plus photos of the cities the posterior centres on."""
    wh = w.sum(axis=0)
    mass = np.bincount(model.hyp_city[:-1], weights=wh[:-1], minlength=model.cities)
    near = np.concatenate([model.city_rows[c] for c in np.argsort(-mass)[:12]])
    near = near[available[near]]
    if len(near) > CANDIDATES:
        near = near[rng.choice(len(near), CANDIDATES, replace=False)]
    return np.union1d(_sample(available, CANDIDATES, rng), near).astype(np.intp)


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(p * np.log(p) + (1 - p) * np.log1p(-p))


def _information(model: TasteModel, w: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Mutual information (nats) between the answer to each photo and the hypothesis.

    Factorised by favourite city: under the hypotheses of one favourite f (base rate and plateau
    averaged within f), a photo's P(like) takes one of two values, as its city is in the kind or not, so
    both sums over hypotheses are (photos x favourites) operations. Only the MAX_FAVOURITES
    favourites with the most posterior mass (and not negligible) count."""
    wh = w.sum(axis=0)
    f = model.hyp_city[:-1]
    mass = np.bincount(f, weights=wh[:-1], minlength=model.cities)
    active = np.flatnonzero(mass >= mass.max() * 1e-4)
    if len(active) > MAX_FAVOURITES:
        active = np.sort(active[np.argsort(-mass[active])[:MAX_FAVOURITES]])

    def per_favourite(values: np.ndarray) -> np.ndarray:  # posterior mean of a grid quantity given f
        total = np.bincount(f, weights=(w[:, :-1] * values[:, None]).sum(axis=0), minlength=model.cities)
        return (total[active] / np.maximum(mass[active], 1e-300)).astype(np.float32)

    base = per_favourite(model.base_rates)
    rest = per_favourite(1 - model.base_rates)
    rest_plateau = per_favourite((1 - model.base_rates) * model.plateaus)
    hyps = np.flatnonzero(np.isin(f, active))
    starts = np.flatnonzero(np.r_[True, f[hyps][1:] != f[hyps][:-1]])
    kind_mass = np.add.reduceat(wh[hyps, None].astype(np.float32) * model.kind[hyps], starts, axis=0)  # (A, K)
    d2 = _squared_distances(model.coords[rows], model.centroids[active])
    bump = np.exp(-d2 / (2 * model.bump_width[active] ** 2)).astype(np.float32)
    scale = 1 - 2 * model.lapse  # P(like) is linear in (base, (1 - base), (1 - base) * plateau)
    out_like = model.lapse + scale * (base + model.peak * bump * rest)
    in_like = out_like + scale * model.peak * (1 - bump) * rest_plateau
    w_in = kind_mass[:, model.photo_city[rows]].T
    w_out = mass[active].astype(np.float32) - w_in
    none_base = float((w[:, -1] * model.base_rates).sum() / max(wh[-1], 1e-300))
    none_like = model.lapse + scale * none_base
    total = float(mass[active].sum() + wh[-1])
    p_like = ((out_like * w_out).sum(axis=1) + (in_like * w_in).sum(axis=1) + wh[-1] * none_like) / total
    expected = (_binary_entropy(out_like) * w_out).sum(axis=1) + (_binary_entropy(in_like) * w_in).sum(axis=1)
    expected = (expected + wh[-1] * float(_binary_entropy(np.array(none_like)))) / total
    return _binary_entropy(p_like) - expected
