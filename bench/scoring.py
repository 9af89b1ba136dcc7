"""Which scoring rule finds a swiper's favourite city? A simulation, printed as hit rates.

Simulated collection: K cities with Zipf-distributed photo counts (a few cities have
most photos, as a real harvest does). Each photo's vector is a softmax-like mix that
puts most mass on its own city and some on a few look-alike cities.

Simulated swipers: each has one favourite city t and a personal like-rate b (some like
almost everything, some almost nothing). They like a photo with probability
b + (1 - b) * p_t: the more a photo looks like their city, the likelier a like.

After N swipes on photos in queue order, a rule scores a hit when t is ranked first
(top-1) or in the first three (top-3). "popular" is how often the collection's most
photographed city is ranked first: a fair rule gives it 1/K of users (1/30 = 0.033);
the sum rule hands it to anyone who likes many photos.

Run: python -m bench.scoring
"""

import argparse

import numpy as np

from swipes.scoring import RULES, swipe_contribution


def make_collection(rng: np.random.Generator, *, cities: int, photos: int) -> tuple[np.ndarray, np.ndarray]:
    weights = 1.0 / np.arange(1, cities + 1)
    labels = rng.choice(cities, size=photos, p=weights / weights.sum())
    vectors = np.empty((photos, cities))
    for i, label in enumerate(labels):
        alpha = np.full(cities, 0.05)
        alpha[label] = 3.0
        vectors[i] = rng.dirichlet(alpha)
    return labels, vectors


def simulate(
    rule: str,
    *,
    seed: int = 0,
    cities: int = 30,
    photos: int = 3000,
    users: int = 400,
    swipes: int = 40,
    like_rates: tuple[float, float] = (0.05, 0.8),
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    labels, vectors = make_collection(rng, cities=cities, photos=photos)
    mean = vectors.mean(axis=0)
    most_photographed = int(np.argmax(np.bincount(labels, minlength=cities)))
    top1 = top3 = popular = 0
    for _ in range(users):
        favourite = int(rng.integers(cities))
        like_rate = float(rng.uniform(*like_rates))
        shown = rng.choice(photos, size=swipes, replace=False)
        scores = np.zeros(cities)
        for i in shown:
            p = vectors[i]
            liked = bool(rng.random() < like_rate + (1 - like_rate) * p[favourite])
            scores += swipe_contribution(p, liked, rule=rule, mean=mean)
        ranked = np.lexsort((np.arange(cities), -scores))[:3].tolist()  # best first; ties: the lower index
        top1 += ranked[0] == favourite
        top3 += favourite in ranked
        popular += ranked[0] == most_photographed
    return {"top1": top1 / users, "top3": top3 / users, "popular": popular / users}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--swipes", type=int, default=40)
    args = parser.parse_args()
    bands = {"all swipers": (0.05, 0.8), "choosy (like 5-30%)": (0.05, 0.3), "keen (like 60-90%)": (0.6, 0.9)}
    print(f"{args.users} simulated swipers per band, {args.swipes} swipes each, 30 cities; fair 'popular' = 0.033")
    for band, rates in bands.items():
        results = {
            rule: simulate(rule, seed=args.seed, users=args.users, swipes=args.swipes, like_rates=rates)
            for rule in RULES
        }
        print(f"\n{band}\n{'rule':6} {'top-1':>7} {'top-3':>7} {'popular':>8}")
        for rule, r in results.items():
            print(f"{rule:6} {r['top1']:7.3f} {r['top3']:7.3f} {r['popular']:8.3f}")
        llr, base = results["llr"], results["sum"]
        print(
            f"llr/sum ratios: top-1 {llr['top1'] / max(base['top1'], 1e-9):.2f}, "
            f"popular-city bias {llr['popular'] / max(base['popular'], 1e-9):.2f}"
        )


if __name__ == "__main__":
    main()
