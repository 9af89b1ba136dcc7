from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from photos.catalogue import CityLookupError, find_cities
from photos.harvest import CityHarvest, HarvestSummary, harvest_photos
from photos.sources import SOURCES, UnknownSource, get_source


def summary_table(summary: HarvestSummary) -> str:
    """The per-city table, a total row, and what was refused or failed, as plain text."""
    added = "would fetch" if summary.dry_run else "imported"
    columns = ("had", "found", added, "duplicates", "skipped", "rejected", "failed", "missing")

    def cells(row: CityHarvest) -> list[int]:
        added_count = len(row.planned) if summary.dry_run else row.imported
        return [row.had, row.found, added_count, row.duplicates, row.skipped, row.rejected, row.failed, row.missing]

    def line(first: str, values: list, note: str = "") -> str:
        return (
            first.ljust(width) + "".join(f"{v:>{len(c) + 2}}" for c, v in zip(columns, values)) + "  " + note
        ).rstrip()

    width = max([len(row.city.display_name) for row in summary.cities] + [5])
    lines = [line("City", list(columns), "note")]
    lines += [line(row.city.display_name, cells(row), row.error) for row in summary.cities]
    totals = [sum(values) for values in zip(*(cells(row) for row in summary.cities))] or [0] * len(columns)
    lines.append(line("Total", totals))
    for reason, count in summary.reasons.most_common():
        lines.append(f"  {count} × {reason}")
    if summary.gate_share is not None:
        readable = sum(row.imported + row.gated for row in summary.cities)
        share = f"{summary.gate_share:.0%}"
        lines.append(f"Quality gate: refused {summary.gated} of {readable} readable downloads ({share})")
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Harvest freely licensed city photos from the web (default: Wikimedia Commons) with author and licence, "
        "up to --per-city photos per city. Re-runs fetch only what is missing. Set CITYVIBES_HARVEST_CONTACT "
        "(environment or settings) to an address where the source's operators can reach you: it is sent in the "
        "User-Agent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--cities",
            required=True,
            help='"all", or names with an optional state code, comma-separated: "Denver, Portland, OR"',
        )
        parser.add_argument("--per-city", type=int, default=20, help="Photos wanted per city from the source (20)")
        parser.add_argument("--source", default="wikimedia", help=f"One of: {', '.join(sorted(SOURCES))}")
        parser.add_argument("--dry-run", action="store_true", help="List what would be fetched; download nothing")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar")

    def handle(self, *args, cities: str, per_city: int, source: str, dry_run: bool, no_progress: bool, **options):
        if per_city < 1:
            raise CommandError("--per-city must be 1 or more")
        try:
            photo_source = get_source(source)
            selected = find_cities(cities)
        except (UnknownSource, CityLookupError) as error:
            raise CommandError(str(error)) from None
        if not selected:
            raise CommandError("no cities to harvest: load some with load_cities first")
        quiet = no_progress or options["verbosity"] == 0
        with tqdm(total=len(selected), unit="city", disable=quiet, file=self.stderr) as bar:

            def progress(row: CityHarvest) -> None:
                bar.set_postfix_str(f"{row.city.name}: +{row.imported}", refresh=False)
                bar.update(1)

            summary = harvest_photos(
                cities=selected, source=photo_source, per_city=per_city, dry_run=dry_run, on_progress=progress
            )
        self.stdout.write(summary_table(summary))
        if dry_run:
            for row in summary.cities:
                for candidate in row.planned:
                    self.stdout.write(
                        f"  {row.city.display_name}: {candidate.download_url} "
                        f"({candidate.width}x{candidate.height}, {candidate.licence}) {candidate.page_url}"
                    )
        if summary.stopped:
            raise CommandError(f"stopped early: {summary.stopped}")
        tried = [row for row in summary.cities if row.had < per_city]
        if tried and all(row.error for row in tried):
            raise CommandError(f"the source failed for every city: {tried[0].error}")
