"""City-to-city similarity and nearest-neighbour search: pure NumPy, no Django.

The classifier's probability vector is a photo's "vibe fingerprint". Averaged over the photos
labelled with city a, it says how much a's photos look like every city: M[a, b]. Cities whose
photos the model keeps mixing up are similar; M is not symmetric (Denver photos may look like
Seattle more than Seattle photos look like Denver), so the similarity is the mean of both
directions: S[a, b] = (M[a, b] + M[b, a]) / 2.
"""

import numpy as np


def class_means(vectors: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(K x K mean vector per labelled class, photo count per class).

    vectors: (N, K) probabilities; labels: (N,) class index per row, in 0..K-1.
    Row c is the mean vector of the rows labelled c, or all NaN when no row is labelled c.
    """
    vectors = np.asarray(vectors, dtype=np.float64).reshape(-1, k)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(vectors) != len(labels):
        raise ValueError(f"{len(vectors)} vectors but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must be between 0 and {k - 1}")
    counts = np.bincount(labels, minlength=k)
    sums = np.zeros((k, k))
    np.add.at(sums, labels, vectors)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    means[counts == 0] = np.nan
    return means, counts


def confusion_rates(confusion: np.ndarray) -> np.ndarray:
    """Row-normalised confusion counts (row = true class): a coarse stand-in for class_means.

    Rows without any count are NaN.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    totals = confusion.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = confusion / totals
    rates[totals[:, 0] == 0] = np.nan
    return rates


def symmetric_similarity(means: np.ndarray) -> np.ndarray:
    """S[a, b] = (M[a, b] + M[b, a]) / 2; when one city has no data, its direction is left out.

    NaN where neither city has data. The diagonal is M[a, a] (how much a's photos look like a),
    which rankings leave out.
    """
    means = np.asarray(means, dtype=np.float64)
    forward, backward = means, means.T
    both = ~np.isnan(forward) & ~np.isnan(backward)
    similarity = np.where(both, (np.nan_to_num(forward) + np.nan_to_num(backward)) / 2, np.nan)
    similarity = np.where(np.isnan(forward) & ~np.isnan(backward), backward, similarity)
    similarity = np.where(~np.isnan(forward) & np.isnan(backward), forward, similarity)
    return similarity


def city_similarity(vectors: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """K x K symmetric city similarity from predicted vectors (N x K) and city labels (N,)."""
    means, _ = class_means(vectors, labels, k)
    return symmetric_similarity(means)


def ranked_neighbours(similarity: np.ndarray, index: int, limit: int) -> list[tuple[int, float]]:
    """The `limit` most similar other classes to `index`, best first (ties: lower index first).

    The diagonal and unknown (NaN) entries are left out.
    """
    row = np.asarray(similarity, dtype=np.float64)[index]
    candidates = [j for j in range(len(row)) if j != index and not np.isnan(row[j])]
    candidates.sort(key=lambda j: (-row[j], j))
    return [(j, float(row[j])) for j in candidates[: max(0, limit)]]


def most_counted(counts: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the `limit` largest counts (ties: lower index first), in index order."""
    counts = np.asarray(counts)
    order = np.lexsort((np.arange(len(counts)), -counts))[: max(0, limit)]
    return np.sort(order)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); all-zero rows stay zero."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def nearest(query: np.ndarray, matrix: np.ndarray, k: int, *, normalised: bool = False) -> list[tuple[int, float]]:
    """The k rows of `matrix` (N x D) most cosine-similar to `query` (D,), best first.

    Pass normalised=True when the rows are already unit length (unit_rows), so repeated
    queries against the same matrix skip that work. Exact search: O(N * D) per query.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or not len(matrix) or k < 1:
        return []
    query = np.asarray(query, dtype=np.float32).reshape(-1)
    if query.shape[0] != matrix.shape[1]:
        raise ValueError(f"query has {query.shape[0]} values, the matrix rows {matrix.shape[1]}")
    norm = float(np.linalg.norm(query))
    if norm == 0:
        return []
    rows = matrix if normalised else unit_rows(matrix)
    scores = rows @ (query / norm)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((top, -scores[top]))]
    return [(int(i), float(scores[i])) for i in top]


def nearest_other_distances(unit_vectors: np.ndarray, *, sample: int = 512, seed: int = 0) -> np.ndarray:
    """Cosine distance (1 - cosine similarity) from rows to their nearest other row.

    Rows must be unit length (unit_rows). Past `sample` rows, a seeded random sample of them is
    measured against all rows: O(sample * N * D), about 0.1 s at 10,000 rows of 1280 values.
    """
    vectors = np.asarray(unit_vectors, dtype=np.float32)
    n = len(vectors)
    if n < 2:
        return np.zeros(0)
    rows = np.arange(n) if n <= sample else np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    similarities = vectors[rows] @ vectors.T
    similarities[np.arange(len(rows)), rows] = -np.inf
    return np.clip(1.0 - similarities.max(axis=1).astype(np.float64), 0.0, 2.0)


def far_distance(nearest_distances: np.ndarray, *, percentile: float, floor: float, cap: float) -> float:
    """The distance past which a new item is farther from its nearest neighbour than `percentile` %
    of the collection's own items are from theirs, kept between `floor` and `cap` (`cap` when
    there is nothing to measure)."""
    distances = np.asarray(nearest_distances, dtype=np.float64)
    if not len(distances):
        return cap
    return float(np.clip(np.percentile(distances, percentile), floor, cap))
