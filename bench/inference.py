"""Batch inference throughput: the whole predict_photos pipeline against the model's bare predict.

Pipeline = what `manage.py predict_photos --all` does: query photos, read and decode their
display renditions, resize and crop, run the backbone, cache the features, run the head,
write the probability vectors to the database.
Bare = the same Keras classifier's predict_on_batch on tensors already in memory.
Both in one run, same photos, same batch size; the ratio is what matters (target >= 0.8).

    python -m bench.inference [--photos 256] [--batch-size 64] [--backbone efficientnet_lite0]

Runs on a throwaway SQLite database and media folder unless DATABASE_URL is set.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--cities", type=int, default=6)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="cityvibes-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ["DJANGO_MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityvibes_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    photos, version = _setup_collection(args)

    import numpy as np

    from ml.embeddings import photo_array
    from ml.inference import classifier_for
    from ml.models import PhotoEmbedding
    from ml.services import predict_photos

    classifier = classifier_for(version)
    arrays = np.stack([photo_array(p, backbone_name=version.backbone, image_size=version.image_size) for p in photos])
    batches = [arrays[i : i + args.batch_size] for i in range(0, len(arrays), args.batch_size)]
    classifier.predict_arrays(batches[0])  # warm up the graph
    classifier.features(batches[0])
    classifier.predict_features(classifier.features(batches[0][:2]))

    started = time.perf_counter()
    for batch in batches:
        classifier.predict_arrays(batch)
    bare = len(arrays) / (time.perf_counter() - started)

    PhotoEmbedding.objects.all().delete()  # the pipeline must run the backbone, not read a cache
    started = time.perf_counter()
    report = predict_photos(model_version=version, redo_all=True, batch_size=args.batch_size)
    pipeline = report.predicted / (time.perf_counter() - started)
    assert report.predicted == len(photos), report

    print(
        f"{args.photos} photos (800x600 JPEG renditions), {args.backbone}, "
        f"batch {args.batch_size}, {os.cpu_count()} cores"
    )
    print(f"bare model predict on preloaded tensors: {bare:7.1f} images/s")
    print(f"predict_photos pipeline (decode+model+DB): {pipeline:7.1f} images/s")
    print(f"pipeline / bare ratio: {pipeline / bare:.2f}  (target >= 0.80)")


def _setup_collection(args):
    import io
    import random

    from ml.backbones import get_backbone
    from ml.models import ModelVersion
    from ml.services import activate_model_version
    from ml.training import build_head
    from photos.demo import DEMO_CITIES, draw_photo
    from photos.models import Photo
    from photos.services import PhotoCredit, city_get_or_create, ingest_photo

    rng = random.Random(0)
    cities = []
    for name, base, accent, motif in DEMO_CITIES[: args.cities]:
        city, _ = city_get_or_create(name=name.split(",")[0], country="US")
        cities.append((city, base, accent, motif))
    for i in range(args.photos):
        city, base, accent, motif = cities[i % len(cities)]
        buffer = io.BytesIO()
        draw_photo(rng, base, accent, motif, size=(1600, 1200)).save(buffer, format="JPEG", quality=90)
        ingest_photo(data=buffer.getvalue(), city=city, credit=PhotoCredit(source="bench"))

    backbone = get_backbone(args.backbone)
    head = build_head(backbone.feature_dim, len(cities))  # untrained weights cost the same to run
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "head.keras"
        head.save(path)
        version = ModelVersion(
            name="bench", backbone=backbone.name, image_size=backbone.input_size, cities=[c.pk for c, *_ in cities]
        )
        from django.core.files import File

        with path.open("rb") as f:
            version.artifact.save("head.keras", File(f), save=False)
        version.save()
    activate_model_version(model_version=version)
    return list(Photo.objects.order_by("pk")), version


if __name__ == "__main__":
    main()
