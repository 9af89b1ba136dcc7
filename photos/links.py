"""Links in a photo's credit (its page, its licence): only absolute http(s) URLs are stored or shown.

A harvested or imported credit could carry `javascript:alert(1)` or `data:text/html,...`, which would
run in the visitor's browser from an `href` on the swipe, results and city pages.
"""

from urllib.parse import urlsplit

WEB_SCHEMES = {"http", "https"}


def web_url(value: str | None) -> str:
    """`value` if it is an absolute http(s) URL with a host, else ""."""
    value = (value or "").strip()
    try:
        parts = urlsplit(value)  # drops the tabs and newlines a browser would ignore, like "java\tscript:"
    except ValueError:
        return ""
    return value if parts.scheme.lower() in WEB_SCHEMES and parts.netloc else ""
