from django.core.management.base import BaseCommand

from photos.selectors import collection_status

HOW_TO_GET_PHOTOS = """No photos yet. Three ways to get some:
  scripts/run --starter   real, freely licensed photos of US cities from Wikimedia Commons (needs internet)
  scripts/run DIR         your own photos, from DIR/<city name>/*.jpg
  scripts/run --demo      generated demo pictures (works offline)"""


class Command(BaseCommand):
    help = "Say what the collection holds and, when it is empty or only a demo, how to get photos (scripts/run)."

    def handle(self, *args, **options):
        status = collection_status()
        if status.photos == 0:
            self.stdout.write(HOW_TO_GET_PHOTOS)
            return
        line = f"{status.servable} photos of {status.cities} cities to swipe"
        hidden = status.photos - status.servable
        self.stdout.write(line + (f" ({hidden} more hidden or unlabelled)." if hidden else "."))
        if status.demo_only:
            self.stdout.write("They are generated demo pictures: for real photos, run scripts/run --starter")
