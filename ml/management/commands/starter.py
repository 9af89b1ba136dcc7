from django.core.management.base import BaseCommand, CommandError

from ml.progress import CommandProgress
from ml.starter import StarterError, StarterOptions, run_starter
from photos.http import harvest_setting


class Command(BaseCommand):
    help = (
        "A real start (scripts/run --starter): load the US city catalogue, harvest freely licensed photos of "
        "well-known US cities from Wikimedia Commons, train the city model and predict every photo. A re-run "
        "skips what is done. Needs internet; without it, scripts/run --demo."
    )

    def add_arguments(self, parser):
        defaults = StarterOptions()
        parser.add_argument(
            "--cities", type=int, help=f"how many cities ({defaults.cities}; or CITYVIBES_STARTER_CITIES)"
        )
        parser.add_argument(
            "--per-city", type=int, help=f"photos per city ({defaults.per_city}; or CITYVIBES_STARTER_PER_CITY)"
        )
        parser.add_argument("--epochs", type=int, default=defaults.epochs, help="training epochs")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, cities, per_city, epochs: int, no_progress: bool, verbosity: int, **options):
        defaults = StarterOptions()
        try:
            cities = cities if cities is not None else harvest_setting("CITYVIBES_STARTER_CITIES", defaults.cities)
            per_city = (
                per_city if per_city is not None else harvest_setting("CITYVIBES_STARTER_PER_CITY", defaults.per_city)
            )
        except ValueError:
            raise CommandError(
                "CITYVIBES_STARTER_CITIES and CITYVIBES_STARTER_PER_CITY must be whole numbers"
            ) from None
        if cities < 2 or per_city < 5 or epochs < 1:
            raise CommandError("the model needs --cities 2 or more, --per-city 5 or more and --epochs 1 or more")
        with CommandProgress(self.stderr, enabled=not no_progress and verbosity > 0) as progress:

            def say(line: str) -> None:
                progress.close()  # a finished stage's bar, before the story goes on below it
                self.stdout.write(line)

            try:
                run_starter(options=StarterOptions(cities, per_city, epochs), say=say, progress=progress)
            except StarterError as error:
                raise CommandError(str(error)) from None
