"""Harvesting: fill each city up to N photos from a photo source, through the one ingestion service.

Resumable: photos a city already has from the source count towards N, and candidates whose page
URL is already a Photo or a recorded reject of that source are skipped without a request. Permanent
refusals (non-free licence, invalid image, HTTP 4xx, duplicate, the quality gate's: drawings, maps,
near-duplicates) are recorded as IngestReject;
transient failures (HTTP 429/5xx after retries, timeouts) are not, so the next run tries again.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from photos.http import ByteBudgetExhausted, FetchError
from photos.models import City, IngestReject, Photo
from photos.services import PhotoCredit, ingest_photo
from photos.sources.base import Candidate, PhotoSource, SourceError

CANDIDATES_PER_WANTED_PHOTO = 5  # how far down a city's candidates to look before giving up...
EXTRA_CANDIDATES = 50  # ...plus this many (known and refused candidates count too)
FAILURES_IN_A_ROW = 3  # transient download failures that end a city's turn


@dataclass
class CityHarvest:
    city: City
    had: int = 0  # photos from this source before the run
    wanted: int = 0  # photos the run set out to add
    found: int = 0  # candidates looked at
    imported: int = 0
    duplicates: int = 0
    skipped: int = 0  # already imported or refused by an earlier run
    rejected: int = 0
    gated: int = 0  # of the rejected: downloaded, readable, but refused by the quality gate
    failed: int = 0  # transient: retried by the next run
    planned: list[Candidate] = field(default_factory=list)  # dry run: what would be downloaded
    error: str = ""  # why the city's turn ended early

    @property
    def missing(self) -> int:
        """Photos still wanted after the run (in a dry run: after fetching what was planned)."""
        return max(0, self.wanted - self.imported - len(self.planned))


@dataclass
class HarvestSummary:
    source: str
    dry_run: bool = False
    cities: list[CityHarvest] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)  # kind of refusal or failure -> count
    stopped: str = ""  # why the whole run stopped early

    @property
    def gated(self) -> int:
        return sum(row.gated for row in self.cities)

    @property
    def gate_share(self) -> float | None:
        """Share of the readable downloads that the quality gate refused (None when nothing was read)."""
        seen = sum(row.imported + row.gated for row in self.cities)
        return self.gated / seen if seen else None

    def as_dict(self) -> dict:
        """A JSON-serialisable report (the Celery task's result)."""
        counters = (
            "had",
            "wanted",
            "found",
            "imported",
            "duplicates",
            "skipped",
            "rejected",
            "gated",
            "failed",
            "missing",
        )
        rows = [
            {
                "city_id": row.city.pk,
                "city": row.city.display_name,
                **{name: getattr(row, name) for name in counters},
                "planned": len(row.planned),
                "error": row.error,
            }
            for row in self.cities
        ]
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "stopped": self.stopped,
            "cities": rows,
            "reasons": dict(self.reasons),
            "gated": self.gated,
            "gate_share": self.gate_share,
        }


def reason_kind(reason: str) -> str:
    """'too many pixels (4000x4000 > ...)' -> 'too many pixels', for counting reasons."""
    return reason.split(":")[0].split("(")[0].strip()


def harvest_photos(
    *,
    cities: Iterable[City],
    source: PhotoSource,
    per_city: int,
    dry_run: bool = False,
    on_progress: Callable[[CityHarvest], None] | None = None,
) -> HarvestSummary:
    """Bring each city up to `per_city` photos from `source`. One city's failure does not stop the others.

    A dry run asks the source what it would fetch but downloads and writes nothing.
    """
    run = _HarvestRun(source=source, per_city=per_city, dry_run=dry_run)
    for city in cities:
        row = CityHarvest(city=city)
        run.summary.cities.append(row)
        try:
            run.harvest_city(row)
        except ByteBudgetExhausted as error:
            row.error = run.summary.stopped = str(error)
        except (FetchError, SourceError) as error:
            row.error = str(error)
        if on_progress:
            on_progress(row)
        if run.summary.stopped:
            break
    return run.summary


class _HarvestRun:
    def __init__(self, *, source: PhotoSource, per_city: int, dry_run: bool):
        self.source = source
        self.per_city = per_city
        self.dry_run = dry_run
        self.summary = HarvestSummary(source=source.name, dry_run=dry_run)
        self.known = set(
            Photo.objects.filter(source=source.name).exclude(page_url="").values_list("page_url", flat=True)
        ) | set(IngestReject.objects.filter(source=source.name).values_list("reference", flat=True))

    def harvest_city(self, row: CityHarvest) -> None:
        row.had = Photo.objects.filter(city=row.city, source=self.source.name).count()
        wanted = row.wanted = max(0, self.per_city - row.had)
        if wanted == 0:
            return
        scan_limit = CANDIDATES_PER_WANTED_PHOTO * wanted + EXTRA_CANDIDATES
        failures_in_a_row = 0
        for candidate in self.source.candidates(row.city, page_size=max(10, wanted)):
            row.found += 1
            if candidate.page_url in self.known:
                row.skipped += 1
            elif candidate.problem:
                self._refuse(row, candidate, candidate.problem)
            elif self.dry_run:
                row.planned.append(candidate)
                wanted -= 1
            else:
                outcome, reason = self._fetch_and_ingest(row, candidate)
                if outcome == "imported":
                    wanted -= 1
                failures_in_a_row = failures_in_a_row + 1 if outcome == "failed" else 0
                if failures_in_a_row == FAILURES_IN_A_ROW:
                    raise FetchError(f"{FAILURES_IN_A_ROW} downloads in a row failed, the last with {reason}")
            if wanted == 0 or row.found >= scan_limit:
                return

    def _fetch_and_ingest(self, row: CityHarvest, candidate: Candidate) -> tuple[str, str]:
        """Download and ingest one candidate: (imported | duplicate | rejected | failed, reason)."""
        try:
            data = self.source.download(candidate)
        except ByteBudgetExhausted:
            raise
        except FetchError as error:
            if error.transient:
                row.failed += 1
                self.summary.reasons[reason_kind(str(error))] += 1
                return "failed", str(error)
            self._refuse(row, candidate, f"download refused: {error}")
            return "rejected", str(error)
        credit = PhotoCredit(
            source=self.source.name,
            source_url=candidate.download_url,
            page_url=candidate.page_url,
            author=candidate.author,
            licence=candidate.licence,
            licence_url=candidate.licence_url,
            title=candidate.title,
        )
        result = ingest_photo(data=data, city=row.city, credit=credit, reference=candidate.page_url)
        self.known.add(candidate.page_url)
        if result.status == "imported":
            row.imported += 1
        elif result.status == "duplicate":
            row.duplicates += 1
            self._record(candidate, f"duplicate of photo {result.photo.pk}")
        else:
            row.rejected += 1
            row.gated += result.gated
            self.summary.reasons[reason_kind(result.reason)] += 1
        return result.status, result.reason

    def _refuse(self, row: CityHarvest, candidate: Candidate, reason: str) -> None:
        row.rejected += 1
        self.summary.reasons[reason_kind(reason)] += 1
        if not self.dry_run:
            self._record(candidate, reason)

    def _record(self, candidate: Candidate, reason: str) -> None:
        IngestReject.objects.update_or_create(
            source=self.source.name, reference=candidate.page_url[:1000], defaults={"reason": reason[:300]}
        )
        self.known.add(candidate.page_url)
