from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from photos.services import folder_photo_files, import_folder


class Command(BaseCommand):
    help = "Import photos from DIR/<city name>/*.jpg, creating cities as needed. Re-runs import only new files."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--country", default="US", help="ISO country code for folders that name no country")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar")
        parser.add_argument(
            "--no-quality-gate",
            action="store_true",
            help="Let in what the quality gate would refuse (drawings, near-duplicates): for generated demo photos",
        )

    def handle(
        self, *args, directory: Path, country: str, no_progress: bool, no_quality_gate: bool, verbosity: int, **options
    ):
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory")
        if len(country) != 2 or not country.isalpha():
            raise CommandError(f"--country must be a two-letter ISO code, not {country!r}")
        files = folder_photo_files(directory)
        if not files:
            raise CommandError(f"no images found: expected {directory}/<city name>/*.jpg")
        with tqdm(total=len(files), unit="photo", disable=no_progress or verbosity == 0, file=self.stderr) as bar:
            summary = import_folder(
                root=directory,
                default_country=country,
                files=files,
                on_progress=lambda _path: bar.update(1),
                quality_gate=not no_quality_gate,
            )
        self.stdout.write(
            f"Imported {summary.imported}, duplicates {summary.duplicates}, rejected {summary.rejected} "
            f"(of {len(files)} files); new cities: {len(summary.cities_created)}"
        )
        if no_quality_gate:
            self.stdout.write("Quality gate: off")
        elif summary.gate_share is not None:
            self.stdout.write(
                f"Quality gate: refused {summary.gated} of {summary.imported + summary.gated} readable images "
                f"({summary.gate_share:.0%})"
            )
        if summary.cities_created and verbosity > 1:
            self.stdout.write("New cities: " + ", ".join(summary.cities_created))
        for reason, count in summary.reasons.most_common():
            self.stdout.write(f"  rejected {count}: {reason}")
        if verbosity > 1:
            for reference, reason in summary.rejected_files:
                self.stdout.write(f"    {reference}: {reason}")
        if summary.imported == 0 and summary.duplicates == 0:
            raise CommandError(f"none of the {len(files)} files could be imported")
