"""Photo sources the harvester can use, by name. Add a source by registering a factory in SOURCES."""

from collections.abc import Callable

from photos.sources.base import Candidate, PhotoSource, SourceError, is_free_licence
from photos.sources.wikimedia import WikimediaCommons

SOURCES: dict[str, Callable[[], PhotoSource]] = {
    WikimediaCommons.name: WikimediaCommons.from_settings,
}


class UnknownSource(LookupError):
    """No source is registered under that name."""


def get_source(name: str) -> PhotoSource:
    """A fresh source (with its own HTTP client and byte budget) for one harvest run."""
    try:
        factory = SOURCES[name]
    except KeyError:
        raise UnknownSource(f"unknown source {name!r} (known: {', '.join(sorted(SOURCES))})") from None
    return factory()


__all__ = ["SOURCES", "Candidate", "PhotoSource", "SourceError", "UnknownSource", "get_source", "is_free_licence"]
