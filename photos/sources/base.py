"""What a photo source is: something that proposes candidate photos for a city and downloads them."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from photos.models import City

# Licences whose files we keep, written as normalised short names ("CC BY-SA 4.0" -> "cc by sa 4.0"):
# CC0, CC BY and CC BY-SA (any version, ported or not), public domain marks.
_FREE_LICENCE = re.compile(r"(cc0|cc zero|(cc )?by( sa)?)( [\d.,]+)*( [a-z]{2,3})?|public domain.*|pd( .*)?|pdm.*")
_NOT_FREE_WORDS = {"nc", "nd", "fair", "non", "nonfree"}


class SourceError(Exception):
    """The source answered something unusable: an API error, or a body of the wrong shape."""


@dataclass(frozen=True)
class Candidate:
    """A photo a source offers: where to get it and how it must be credited."""

    page_url: str  # the photo's page on the source: the key that makes re-runs skip it
    download_url: str  # a rendition of bounded width, never a multi-MB original
    title: str = ""
    author: str = ""
    licence: str = ""
    licence_url: str = ""
    mime: str = ""
    width: int = 0  # of the rendition at download_url
    height: int = 0
    problem: str = ""  # why it must not be used (e.g. a non-free licence), known before downloading


class PhotoSource(Protocol):
    """A place photos come from. Register implementations in photos.sources.SOURCES."""

    name: str  # stored as Photo.source

    def candidates(self, city: City, *, page_size: int) -> Iterator[Candidate]:
        """Photos of the city, best first, fetched lazily about page_size at a time: stop when you have enough."""
        ...

    def download(self, candidate: Candidate) -> bytes:
        """The bytes at candidate.download_url. Raises photos.http.FetchError."""
        ...


def is_free_licence(short_name: str) -> bool:
    """True for CC0, CC BY, CC BY-SA and public-domain short names; False for NC/ND, fair use, unknown."""
    name = " ".join(re.sub(r"[-_/]", " ", short_name.lower()).split())
    if not name or _NOT_FREE_WORDS & set(name.split()):
        return False
    return bool(_FREE_LICENCE.fullmatch(name))
