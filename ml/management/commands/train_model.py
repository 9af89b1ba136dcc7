from django.core.management.base import BaseCommand, CommandError

from ml.backbones import BACKBONES, DEFAULT_BACKBONE
from ml.progress import CommandProgress
from ml.services import TrainingError, TrainingOptions, train_model_version


class Command(BaseCommand):
    help = "Train a city classifier on the labelled photos and record it as a ModelVersion."

    def add_arguments(self, parser):
        parser.add_argument("--backbone", default=DEFAULT_BACKBONE, help=f"one of {', '.join(BACKBONES)}")
        parser.add_argument("--image-size", type=int, default=None, help="input size (default: the backbone's)")
        parser.add_argument("--epochs", type=int, default=30)
        parser.add_argument("--batch-size", type=int, default=32)
        parser.add_argument("--val-fraction", type=float, default=0.15)
        parser.add_argument("--test-fraction", type=float, default=0.15)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--min-photos-per-city", type=int, default=5)
        parser.add_argument("--augment-views", type=int, default=2, help="augmented copies per training photo")
        parser.add_argument("--dropout", type=float, default=0.2)
        parser.add_argument("--fine-tune", action="store_true", help="also train the top of the backbone (slow)")
        parser.add_argument("--fine-tune-layers", type=int, default=20)
        parser.add_argument("--fine-tune-epochs", type=int, default=2)
        parser.add_argument("--activate", action="store_true", help="make it the active model whatever its score")
        parser.add_argument("--name", default="", help="version name (default: backbone-timestamp)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **o):
        for key in ("epochs", "batch_size", "min_photos_per_city"):
            if o[key] < 1:
                raise CommandError(f"--{key.replace('_', '-')} must be at least 1")
        if o["augment_views"] < 0 or (o["image_size"] is not None and not 32 <= o["image_size"] <= 1024):
            raise CommandError("--augment-views must be >= 0 and --image-size between 32 and 1024")
        options = TrainingOptions(
            **{k: o[k] for k in TrainingOptions.__dataclass_fields__ if k in o and k != "name"}, name=o["name"]
        )
        try:
            with CommandProgress(self.stderr, enabled=not o["no_progress"] and o["verbosity"] > 0) as progress:
                outcome = train_model_version(options=options, progress=progress)
        except TrainingError as error:
            raise CommandError(str(error)) from None
        m = outcome.version.metrics
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        self.stdout.write(
            f"Trained {outcome.version.name}: {len(outcome.version.cities)} cities, "
            f"{m['train']['count']}/{m['val']['count']}/{m['test']['count']} train/val/test photos, "
            f"{m['epochs_run']} epochs in {m['training_seconds']:.1f}s"
        )
        for split in ("train", "val", "test"):
            self.stdout.write(
                f"  {split:5} accuracy {fmt(m[split]['accuracy'])}  top-5 {fmt(m[split]['top5_accuracy'])}"
            )
        e = m["embeddings"]
        self.stdout.write(f"  embeddings: {e['computed']} computed, {e['cached']} from cache")
        if outcome.unreadable:
            self.stdout.write(f"  skipped {len(outcome.unreadable)} unreadable photos")
            for pk, reason in outcome.unreadable[:10]:
                self.stdout.write(f"    photo {pk}: {reason}")
        if outcome.skipped_cities:
            self.stdout.write(
                f"  left out {len(outcome.skipped_cities)} cities with fewer than {options.min_photos_per_city} photos"
            )
        self.stdout.write(f"  {outcome.activation_reason}")
