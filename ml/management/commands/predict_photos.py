from django.core.management.base import BaseCommand, CommandError

from ml.models import ModelVersion
from ml.progress import CommandProgress
from ml.services import TrainingError, predict_photos


class Command(BaseCommand):
    help = "Write every photo's city probabilities for the active model (resumable; --all to redo)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="redo photos already predicted by this version")
        parser.add_argument("--model-version", default="", help="version name (default: the active one)")
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, all: bool, model_version: str, batch_size: int, no_progress: bool, verbosity: int, **o):
        version = None
        if model_version:
            version = ModelVersion.objects.filter(name=model_version).first()
            if version is None:
                raise CommandError(f"no model version named {model_version!r}")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            with CommandProgress(self.stderr, enabled=not no_progress and verbosity > 0) as progress:
                report = predict_photos(model_version=version, redo_all=all, batch_size=batch_size, progress=progress)
        except TrainingError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Predicted {report.predicted} of {report.todo} photos with {report.model_version}; "
            f"{len(report.unreadable)} unreadable."
        )
        for pk, reason in report.unreadable[:10]:
            self.stdout.write(f"  photo {pk}: {reason}")
