from django.core.management.base import BaseCommand, CommandError

from swipes.services import recompute_scores


class Command(BaseCommand):
    help = "Rebuild every swiper's scores from the swipe log and report drift."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only report drift; exit 1 if any (changes nothing)")
        parser.add_argument(
            "--rescore",
            action="store_true",
            help="Recompute each swipe's contribution from the photos' current vectors and rule first",
        )

    def handle(self, *args, check: bool, rescore: bool, **options):
        if check and rescore:
            raise CommandError("--check and --rescore cannot be combined: --rescore rewrites the log's contributions")
        checked, drifts = recompute_scores(fix=not check, rescore=rescore)
        for drift in drifts:
            cities = ", ".join(str(c) for c in drift.cities[:5]) + (" ..." if len(drift.cities) > 5 else "")
            self.stdout.write(
                f"  swiper {drift.user_data_id}: {len(drift.cities)} city scores differ ({cities or 'none'}); "
                f"count stored {drift.stored_count} vs log {drift.log_count}"
            )
        verb = "would fix" if check else "fixed"
        self.stdout.write(f"Checked {checked} swipers: {len(drifts)} drifted, {verb} {len(drifts)}.")
        if check and drifts:
            raise CommandError(f"{len(drifts)} swipers' scores differ from their swipe log")
