"""Write a small folder of synthetic photos in the import layout: DIR/<city>/*.jpg.

python scripts/make_demo_photos.py DIR [--cities 6] [--per-city 12]
"""

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from photos.demo import DEMO_CITIES, draw_photo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--cities", type=int, default=6)
    parser.add_argument("--per-city", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for name, base, accent, motif in DEMO_CITIES[: args.cities]:
        folder = args.directory / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(args.per_city):
            draw_photo(rng, base, accent, motif).save(folder / f"{i:03d}.jpg", quality=88)
    print(f"wrote {args.cities * args.per_city} photos for {args.cities} cities under {args.directory}")


if __name__ == "__main__":
    main()
