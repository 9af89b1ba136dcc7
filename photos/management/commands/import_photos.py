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

    def handle(self, *args, directory: Path, country: str, no_progress: bool, verbosity: int, **options):
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory")
        if len(country) != 2 or not country.isalpha():
            raise CommandError(f"--country must be a two-letter ISO code, not {country!r}")
        files = folder_photo_files(directory)
        if not files:
            raise CommandError(f"no images found: expected {directory}/<city name>/*.jpg")
        with tqdm(total=len(files), unit="photo", disable=no_progress or verbosity == 0, file=self.stderr) as bar:
            summary = import_folder(
                root=directory, default_country=country, files=files, on_progress=lambda _path: bar.update(1)
            )
        self.stdout.write(
            f"Imported {summary.imported}, duplicates {summary.duplicates}, rejected {summary.rejected} "
            f"(of {len(files)} files); new cities: {len(summary.cities_created)}"
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
