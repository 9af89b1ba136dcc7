"""Content-Security-Policy and Permissions-Policy on every response (Django 5.2 ships neither).

The pages run no inline script and carry no inline style: scripts and styles come from /static/. The
swipe page's first photos are a `<script type="application/json">` data block (json_script), which is
never executed, so CSP has nothing to allow there. Images come from this site, from the photo storage
when that is another host (an S3 bucket, a CDN in AWS_S3_CUSTOM_DOMAIN, an absolute MEDIA_URL), and
from data: URIs (the identify page shows an upload back inline; the favicon is an empty data: URI).
Nothing may frame the site, and forms post only to it.
"""

import functools
from urllib.parse import urlsplit

from django.core.files.storage import Storage, storages
from django.http import HttpRequest, HttpResponse

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


def photo_origin(storage: Storage) -> str:
    """scheme://host of the photos' URLs when another host serves them, else ""."""
    if hasattr(storage, "unsigned_connection") and not storage.custom_domain:
        # S3 without a CDN: the bucket's address, from an unsigned URL (no credentials or network needed).
        client = storage.unsigned_connection.meta.client
        url = client.generate_presigned_url("get_object", Params={"Bucket": storage.bucket_name, "Key": "photos/x"})
    else:
        url = storage.url("photos/x.jpg")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@functools.lru_cache(maxsize=4)
def content_security_policy(storage: Storage) -> str:
    """The policy for this photo storage (computed once per storage instance)."""
    images = " ".join(filter(None, ["'self'", "data:", photo_origin(storage)]))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy(storages["default"]))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
