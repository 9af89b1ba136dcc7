"""A local stand-in for Wikimedia Commons: api.php answers of the documented shape, and image files.

It runs on 127.0.0.1 in a thread. Tests put files in categories and search results, script
failures per path (a 429 with Retry-After, a 500 forever, ...), and read back the requests it got.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

API_PATH = "/w/api.php"


@dataclass
class CommonsFile:
    name: str  # "Pioneer Square.jpg"
    body: bytes = b""  # what the thumbnail URL serves
    licence: str = "CC BY-SA 4.0"
    licence_url: str = "https://creativecommons.org/licenses/by-sa/4.0"
    artist: str = '<a href="//commons.wikimedia.org/wiki/User:Jane_Doe" title="User:Jane Doe">Jane Doe</a>'
    description: str = ""
    mime: str = "image/jpeg"
    width: int = 4000  # of the original, which must never be downloaded
    height: int = 3000

    @property
    def page_url(self) -> str:
        return f"https://commons.wikimedia.org/wiki/File:{quote(self.name.replace(' ', '_'))}"


@dataclass
class Failure:
    status: int
    times: int | None  # None: forever
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    started: float
    finished: float = 0.0


class CommonsServer:
    def __init__(self) -> None:
        self.categories: dict[str, list[CommonsFile]] = {}
        self.searches: dict[str, list[CommonsFile]] = {}  # a quoted city name in gsrsearch -> results
        self.raw_categories: dict[str, object] = {}  # category title -> JSON answered as is
        self.max_limit = 50  # the most results the API gives per call, whatever the limit asked
        self.failures: dict[str, Failure] = {}
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}  # extra fixed answers
        self.delay = 0.0  # seconds each answer takes
        self.send_lengths = True  # False: no Content-Length, the body ends when the connection closes
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._pageids: dict[str, int] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "CommonsServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def api_url(self) -> str:
        return self.base + API_PATH

    def thumb_path(self, file: CommonsFile) -> str:
        return f"/thumb/1024px-{quote(file.name.replace(' ', '_'))}"

    def fail(self, path: str, status: int, *, times: int | None = None, **headers: str) -> None:
        """Answer PATH with STATUS the next TIMES times (forever if None)."""
        self.failures[path] = Failure(status, times, {k.replace("_", "-"): v for k, v in headers.items()})

    def hits(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.requests if seen.path == path]

    def api_calls(self) -> list[dict[str, str]]:
        return [seen.query for seen in self.hits(API_PATH)]

    # --- answers -------------------------------------------------------------------------------

    def _answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        failure = self.failures.get(path)
        if failure and failure.times != 0:
            if failure.times is not None:
                failure.times -= 1
            return failure.status, failure.headers, failure.body
        if path in self.routes:
            return self.routes[path]
        if path == API_PATH:
            return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(self._api(query)).encode()
        for files in [*self.categories.values(), *self.searches.values()]:
            for file in files:
                if path == self.thumb_path(file):
                    return 200, {"Content-Type": file.mime}, file.body
                if path == f"/original/{quote(file.name.replace(' ', '_'))}":
                    return 200, {"Content-Type": file.mime}, file.body
        return 404, {"Content-Type": "text/html"}, b"<!DOCTYPE html><html>Not found</html>"

    def _api(self, query: dict[str, str]) -> object:
        if query.get("meta") == "siteinfo" and "generator" not in query:
            return {"batchcomplete": "", "query": {"general": {"sitename": "Wikimedia Commons", "lang": "en"}}}
        if query.get("gcmtitle") in self.raw_categories:
            return self.raw_categories[query["gcmtitle"]]
        if query.get("generator") == "categorymembers":
            files = self.categories.get(query["gcmtitle"], [])
            offset = int(query.get("gcmcontinue", "file|x|0").rsplit("|", 1)[1])
            limit = min(int(query["gcmlimit"]), self.max_limit)
            token = {"gcmcontinue": f"file|{offset + limit}|{offset + limit}", "continue": "gcmcontinue||"}
        elif query.get("generator") == "search":
            files = next((f for name, f in self.searches.items() if f'"{name}"' in query["gsrsearch"]), [])
            offset = int(query.get("gsroffset", "0"))
            limit = min(int(query["gsrlimit"]), self.max_limit)
            token = {"gsroffset": offset + limit, "continue": "gsroffset||"}
        else:
            return {"error": {"code": "badvalue", "info": "Unrecognized generator."}}
        chunk = files[offset : offset + limit]
        answer: dict = {"batchcomplete": ""}
        if offset + limit < len(files):
            answer = {"continue": token}
        if chunk:
            width = int(query["iiurlwidth"])
            pages = [self._page(file, index=offset + i + 1, thumb_width=width) for i, file in enumerate(chunk)]
            answer["query"] = {"pages": {str(page["pageid"]): page for page in pages}}
        return answer

    def _page(self, file: CommonsFile, *, index: int, thumb_width: int) -> dict:
        with self._lock:
            pageid = self._pageids.setdefault(file.name, 1000 + len(self._pageids))
        thumb_height = round(file.height * thumb_width / file.width)
        meta = {
            "ObjectName": {"value": file.name.rsplit(".", 1)[0], "source": "mediawiki-metadata"},
            "Artist": {"value": file.artist, "source": "commons-desc-page"},
            "LicenseShortName": {"value": file.licence, "source": "commons-desc-page", "hidden": ""},
            "LicenseUrl": {"value": file.licence_url, "source": "commons-desc-page", "hidden": ""},
            "UsageTerms": {"value": f"Creative Commons {file.licence}", "source": "commons-desc-page"},
        }
        if file.description:
            meta["ImageDescription"] = {"value": file.description, "source": "commons-desc-page"}
        return {
            "pageid": pageid,
            "ns": 6,
            "title": f"File:{file.name}",
            "index": index,
            "imagerepository": "local",
            "imageinfo": [
                {
                    "size": len(file.body),
                    "width": file.width,
                    "height": file.height,
                    "thumburl": self.base + self.thumb_path(file),
                    "thumbwidth": thumb_width,
                    "thumbheight": thumb_height,
                    "url": f"{self.base}/original/{quote(file.name.replace(' ', '_'))}",
                    "descriptionurl": file.page_url,
                    "descriptionshorturl": f"https://commons.wikimedia.org/w/index.php?curid={pageid}",
                    "mime": file.mime,
                    "extmetadata": meta,
                }
            ],
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                seen = Seen(
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers=dict(self.headers.items()),
                    started=time.monotonic(),
                )
                with server._lock:
                    server.requests.append(seen)
                time.sleep(server.delay)
                status, headers, body = server._answer(parts.path, seen.query)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if server.send_lengths:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                seen.finished = time.monotonic()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
