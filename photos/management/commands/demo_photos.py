from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from photos.demo import DEMO_CITIES, add_demo_photos


class Command(BaseCommand):
    help = (
        "Add generated demo pictures (a palette and shapes per city, no real photos; works offline), credited "
        "as 'generated demo image'. Re-runs add nothing new. For real photos: scripts/run --starter."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cities", type=int, default=6, help=f"1 to {len(DEMO_CITIES)} (6)")
        parser.add_argument("--per-city", type=int, default=12, help="pictures per city (12)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, cities: int, per_city: int, no_progress: bool, verbosity: int, **options):
        if not 1 <= cities <= len(DEMO_CITIES) or per_city < 1:
            raise CommandError(f"--cities must be 1 to {len(DEMO_CITIES)} and --per-city 1 or more")
        quiet = no_progress or verbosity == 0
        with tqdm(total=cities * per_city, unit="picture", disable=quiet, file=self.stderr) as bar:
            summary = add_demo_photos(cities=cities, per_city=per_city, on_progress=lambda: bar.update(1))
        self.stdout.write(
            f"Added {summary.imported} generated demo pictures of {cities} cities "
            f"({summary.duplicates} already there); they are drawings, not photos of the cities."
        )
