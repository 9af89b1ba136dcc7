"""Wikimedia Commons as a photo source, through its MediaWiki API (no key needed).

For a city it lists files in the city's category ("Category:Portland, Oregon", and "Category:Denver"
for the most populous city of that name), then a full-text search of the File namespace for the
name plus its state or country. Each API call fetches imageinfo with extmetadata (author, licence,
description) and a thumbnail URL of bounded width; continuation tokens are followed lazily.
Settings: CITYVIBES_WIKIMEDIA_API_URL, CITYVIBES_WIKIMEDIA_DOWNLOAD_HOSTS (comma-separated),
CITYVIBES_WIKIMEDIA_THUMB_WIDTH.
"""

import json
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import PurePosixPath

from django.utils.text import Truncator

from photos.catalogue import place_qualifier
from photos.http import PoliteClient, harvest_setting
from photos.models import City
from photos.sources.base import Candidate, SourceError, is_free_licence

API_URL = "https://commons.wikimedia.org/w/api.php"
DOWNLOAD_HOSTS = "upload.wikimedia.org,commons.wikimedia.org"
THUMB_WIDTH = 1024
PHOTO_MIMES = {"image/jpeg", "image/png", "image/webp", "image/tiff"}
API_MAX_BYTES = 5 * 1024 * 1024
TITLE_CHARS = 300  # Photo.title's length
METADATA_FIELDS = "Artist|LicenseShortName|LicenseUrl|ImageDescription|ObjectName|NonFree"


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(value: object) -> str:
    """Text of an extmetadata value (HTML such as '<a href="...">Jane</a>'), whitespace collapsed."""
    collector = _TextCollector()
    collector.feed(str(value))
    collector.close()
    return " ".join("".join(collector.parts).split())


class WikimediaCommons:
    name = "wikimedia"

    def __init__(self, *, api_url: str, thumb_width: int, client: PoliteClient):
        self.api_url = api_url
        self.thumb_width = thumb_width
        self.client = client

    @classmethod
    def from_settings(cls) -> "WikimediaCommons":
        api_url = harvest_setting("CITYVIBES_WIKIMEDIA_API_URL", API_URL)
        hosts = [h.strip() for h in harvest_setting("CITYVIBES_WIKIMEDIA_DOWNLOAD_HOSTS", DOWNLOAD_HOSTS).split(",")]
        allowed = [api_url] + [f"https://{host}" for host in hosts if host]
        return cls(
            api_url=api_url,
            thumb_width=harvest_setting("CITYVIBES_WIKIMEDIA_THUMB_WIDTH", THUMB_WIDTH),
            client=PoliteClient(allowed_origins=allowed),
        )

    def candidates(self, city: City, *, page_size: int) -> Iterator[Candidate]:
        seen: set[str] = set()
        for generator in self._generators(city, page_size=min(page_size, 50)):
            for page in self._pages(generator):
                try:
                    candidate = self._candidate(page)
                except (LookupError, AttributeError, TypeError, ValueError) as error:
                    raise SourceError(f"Commons API: a page of unexpected shape ({error})") from None
                if candidate and candidate.page_url not in seen:
                    seen.add(candidate.page_url)
                    yield candidate

    def download(self, candidate: Candidate) -> bytes:
        return self.client.get(candidate.download_url).body

    def check_reachable(self) -> None:
        """One quick API call, not retried: raises FetchError or SourceError when Commons does not answer
        (no internet, a firewall), so a caller can say so at once instead of retrying for minutes."""
        quick = PoliteClient(
            allowed_origins=self.client.allowed_origins,
            config=replace(self.client.config, max_retries=0, timeout=min(self.client.config.timeout, 15.0)),
        )
        data = self._api({"action": "query", "meta": "siteinfo", "format": "json"}, client=quick)
        if not isinstance(data.get("query", {}).get("general"), dict):
            raise SourceError("Commons API answered without its site information")

    def _generators(self, city: City, *, page_size: int) -> list[dict[str, str | int]]:
        qualifier = place_qualifier(city)
        categories = [f"Category:{city.name}, {qualifier}"]
        namesakes = City.objects.filter(name__iexact=city.name).exclude(pk=city.pk)
        if not namesakes.filter(population__gt=city.population or 0).exists():
            categories.append(f"Category:{city.name}")
        generators: list[dict[str, str | int]] = [
            {"generator": "categorymembers", "gcmtitle": title, "gcmtype": "file", "gcmlimit": page_size}
            for title in categories
        ]
        generators.append(
            {
                "generator": "search",
                "gsrsearch": f'"{city.name}" {qualifier} filetype:bitmap',
                "gsrnamespace": 6,
                "gsrlimit": page_size,
            }
        )
        return generators

    def _pages(self, generator: dict[str, str | int]) -> Iterator[dict]:
        """Pages of one generator in the API's order, following `continue` tokens as they are needed."""
        params: dict[str, str | int] = {
            "action": "query",
            "format": "json",
            "prop": "imageinfo",
            "iiprop": "url|size|mime|extmetadata",
            "iiurlwidth": self.thumb_width,
            "iiextmetadatafilter": METADATA_FIELDS,
            "iiextmetadatalanguage": "en",
            **generator,
        }
        continuation: dict[str, str | int] = {}
        while True:
            data = self._api({**params, **continuation})
            pages = data.get("query", {}).get("pages", {})
            if not isinstance(pages, dict):
                raise SourceError("Commons API: query.pages is not an object")
            yield from sorted(pages.values(), key=lambda page: (page.get("index", 0), page.get("title", "")))
            if not isinstance(data.get("continue"), dict):
                return
            continuation = data["continue"]

    def _api(self, params: dict[str, str | int], *, client: PoliteClient | None = None) -> dict:
        response = (client or self.client).get(self.api_url, params=params, max_bytes=API_MAX_BYTES)
        try:
            data = json.loads(response.body)
        except ValueError:
            raise SourceError("Commons API answered with something other than JSON") from None
        if not isinstance(data, dict):
            raise SourceError("Commons API answered with JSON that is not an object")
        if "error" in data:
            error = data["error"]
            raise SourceError(f"Commons API error: {error.get('code')}: {error.get('info', '')}"[:200])
        return data

    def _candidate(self, page: dict) -> Candidate | None:
        infos = page.get("imageinfo") or []
        info = infos[0] if infos and isinstance(infos[0], dict) else {}
        page_url = info.get("descriptionurl", "")
        if not page_url:
            return None  # a missing or deleted file
        meta = {key: html_to_text(field["value"]) for key, field in (info.get("extmetadata") or {}).items()}
        download_url, width, height = self._bounded_rendition(info)
        licence = meta.get("LicenseShortName", "")
        mime = info.get("mime", "")
        problem = ""
        if mime not in PHOTO_MIMES:
            problem = f"not a photo ({mime or 'unknown type'})"
        elif meta.get("NonFree", "").lower() == "true" or not is_free_licence(licence):
            problem = f"licence not accepted: {licence or 'unknown'}"
        elif not download_url:
            problem = f"no rendition within {self.thumb_width} px"
        licence_url = meta.get("LicenseUrl", "")
        title = meta.get("ImageDescription") or meta.get("ObjectName") or _file_name(page.get("title", ""))
        return Candidate(
            page_url=page_url,
            download_url=download_url,
            title=Truncator(title).chars(TITLE_CHARS),
            author=meta.get("Artist", ""),
            licence=licence,
            licence_url=f"https:{licence_url}" if licence_url.startswith("//") else licence_url,
            mime=mime,
            width=width,
            height=height,
            problem=problem,
        )

    def _bounded_rendition(self, info: dict) -> tuple[str, int, int]:
        """The thumbnail if it is within the width bound, else the original if that is; else ''."""
        if info.get("thumburl") and 0 < info.get("thumbwidth", 0) <= self.thumb_width:
            return info["thumburl"], info["thumbwidth"], info.get("thumbheight", 0)
        if info.get("url") and 0 < info.get("width", 0) <= self.thumb_width:
            return info["url"], info["width"], info.get("height", 0)
        return "", 0, 0


def _file_name(title: str) -> str:
    """'File:Pioneer Square.jpg' -> 'Pioneer Square'."""
    return PurePosixPath(title.removeprefix("File:")).stem
