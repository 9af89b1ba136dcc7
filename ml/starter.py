"""scripts/run --starter: from an empty collection to real photos, a trained model and predictions.

Four stages, each resumable, so a re-run carries on where the last one stopped:
1. the city catalogue (load_cities' "us" preset: idempotent);
2. photos from Wikimedia Commons for the starter cities (photos.catalogue.STARTER_CITIES), fetching only
   what each city is missing; a quick request first says at once when Commons cannot be reached;
3. training, skipped when the active model was trained on exactly the labelled photos there are now;
4. predicting the photos the active model has not predicted yet.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count

from ml.selectors import active_model_version, labelled_photos, model_is_current
from ml.services import (
    ProgressFactory,
    TrainingError,
    TrainingOptions,
    no_progress,
    predict_photos,
    train_model_version,
)
from photos.catalogue import PRESETS, load_cities, starter_cities
from photos.harvest import HarvestSummary, harvest_photos
from photos.http import FetchError
from photos.models import City, Photo
from photos.services import hide_demo_photos
from photos.sources import PhotoSource, SourceError, get_source

SOURCE = "wikimedia"
STAGES = 4
Say = Callable[[str], None]  # prints one line of the run's story


@dataclass(frozen=True)
class StarterOptions:
    cities: int = 24
    per_city: int = 30
    epochs: int = 30


class StarterError(Exception):
    """The starter cannot go on; str(error) is a one-line reason."""


def run_starter(*, options: StarterOptions, say: Say, progress: ProgressFactory = no_progress) -> None:
    """Catalogue, harvest, train, predict: each stage skips what is done already."""
    say(f"[1/{STAGES}] City catalogue")
    cities = _catalogue(options, say)
    say(f"[2/{STAGES}] Photos from Wikimedia Commons: {len(cities)} cities, {options.per_city} photos each")
    _harvest(cities, options, say, progress)
    say(f"[3/{STAGES}] Training the city model")
    _train(options, say, progress)
    say(f"[4/{STAGES}] Predicting what every photo looks like")
    _predict(say, progress)


def _catalogue(options: StarterOptions, say: Say) -> list[City]:
    summary = load_cities(selection=PRESETS["us"])
    say("  " + summary.text().splitlines()[0])
    cities = starter_cities(options.cities)
    say("  starter cities: " + ", ".join(city.name for city in cities))
    return cities


def _harvest(cities: list[City], options: StarterOptions, say: Say, progress: ProgressFactory) -> None:
    counts = Photo.objects.filter(source=SOURCE, city__in=cities).values("city").annotate(n=Count("id"))
    have = {row["city"]: row["n"] for row in counts}
    missing = [city for city in cities if have.get(city.pk, 0) < options.per_city]
    if not missing:
        say(f"  every city has its {options.per_city} photos already")
    else:
        source = get_source(SOURCE)
        if _reachable(source, say):
            advance = progress("harvesting (cities)", len(missing))
            summary = harvest_photos(
                cities=missing, source=source, per_city=options.per_city, on_progress=lambda row: advance(1)
            )
            _report_harvest(summary, options, say)
    if Photo.objects.filter(source=SOURCE).exists() and (hidden := hide_demo_photos()):
        say(f"  hid the {hidden} generated demo pictures: there are real photos now (the admin can unhide them)")


def _reachable(source: PhotoSource, say: Say) -> bool:
    """Whether Commons answers; without it, go on with earlier photos, or stop when there are none."""
    try:
        source.check_reachable()
    except (FetchError, SourceError) as error:
        harvested = Photo.objects.filter(source=SOURCE).count()
        if not harvested:
            raise StarterError(
                f"Wikimedia Commons cannot be reached ({error}). Without internet, try the generated demo instead: "
                "scripts/run --demo"
            ) from None
        say(f"  Wikimedia Commons cannot be reached ({error}): going on with the {harvested} photos from before")
        return False
    return True


def _report_harvest(summary: HarvestSummary, options: StarterOptions, say: Say) -> None:
    say(f"  added {sum(row.imported for row in summary.cities)} photos")
    for reason, count in summary.reasons.most_common(5):
        say(f"    {count} × {reason}")
    if summary.gate_share is not None:
        say(f"  the quality gate refused {summary.gated} downloads ({summary.gate_share:.0%}): drawings, maps, copies")
    short = [row for row in summary.cities if row.had + row.imported < options.per_city]
    if short:
        listed = ", ".join(f"{row.city.name} {row.had + row.imported}" for row in short)
        say(f"  fewer than {options.per_city} photos: {listed} (a re-run looks again)")
    if summary.stopped:
        raise StarterError(f"the harvest stopped early: {summary.stopped}; run it again to carry on")
    if all(row.error and not row.imported for row in summary.cities):
        raise StarterError(f"the harvest failed for every city: {summary.cities[0].error}; run it again to carry on")


def _train(options: StarterOptions, say: Say, progress: ProgressFactory) -> None:
    version = active_model_version()
    photos = labelled_photos().count()
    if model_is_current(version):
        say(f"  skipped: the active model {version.name} learnt from these {photos} photos already")
        return
    try:
        outcome = train_model_version(options=TrainingOptions(epochs=options.epochs, activate=True), progress=progress)
    except TrainingError as error:
        raise StarterError(f"training failed: {error}") from None
    accuracy = outcome.version.metrics["val"]["accuracy"]
    said = "n/a" if accuracy is None else f"{accuracy:.0%}"
    say(f"  trained {outcome.version.name} on {photos} photos of {len(outcome.version.cities)} cities")
    say(f"  it names the right city for {said} of the photos it did not learn from (validation)")


def _predict(say: Say, progress: ProgressFactory) -> None:
    try:
        report = predict_photos(progress=progress)
    except TrainingError as error:
        raise StarterError(str(error)) from None
    if report.todo == 0:
        say("  every photo is predicted already")
        return
    unreadable = f"; {len(report.unreadable)} unreadable" if report.unreadable else ""
    say(f"  predicted {report.predicted} photos{unreadable}")
