from django.core.management.base import BaseCommand

from photos.services import hash_unhashed_photos


class Command(BaseCommand):
    help = (
        "Compute the perceptual hash of photos stored before the quality gate existed, so that near-duplicates "
        "of them are refused too. Re-runs only do what is missing."
    )

    def handle(self, *args, **options):
        hashed, unreadable = hash_unhashed_photos()
        self.stdout.write(f"Hashed {hashed} photos; unreadable {len(unreadable)}")
        for photo_id, reason in unreadable:
            self.stdout.write(f"  photo {photo_id}: {reason}")
