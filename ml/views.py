"""Server-rendered pages: "Which city is this photo?" and a city's page. Both work without JavaScript."""

import base64

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from cityvibes_site.api_fields import is_ascii_digits
from cityvibes_site.throttling import IdentifyThrottle, throttle_wait
from ml.api import MULTIPART_OVERHEAD_BYTES
from ml.identify import IdentifyError, NoActiveModel, UploadRejected, identify_image
from ml.selectors import active_model_version, city_similarity_for, similar_cities
from photos.models import City, Photo

TOP_K = 5
SIMILAR_PHOTOS = 6
CITY_PHOTOS = 24
SIMILAR_CITIES = 5


class IdentifyForm(forms.Form):
    image = forms.FileField(label="Your photo", widget=forms.FileInput(attrs={"accept": "image/*"}))
    save = forms.BooleanField(required=False, label="Add my photo to the collection")


def _too_big_message() -> str:
    return f"That file is too large: the limit is {settings.CITYVIBES_MAX_UPLOAD_BYTES // (1024 * 1024)} MB."


def _render_identify(request: HttpRequest, form: IdentifyForm, *, status: int = 200, **context) -> HttpResponse:
    version = active_model_version()
    context = {
        "form": form,
        "model_ready": version is not None and bool(version.artifact),
        "max_upload_mb": settings.CITYVIBES_MAX_UPLOAD_BYTES // (1024 * 1024),
        **context,
    }
    return render(request, "ml/identify.html", context, status=status)


@csrf_exempt  # CSRF is checked in _identify_page, after the size check: the check itself reads the body.
def identify_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        length = request.META.get("CONTENT_LENGTH") or "0"
        if is_ascii_digits(length) and int(length) > settings.CITYVIBES_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES:
            return _render_identify(request, IdentifyForm(), status=400, error=_too_big_message())
    return _identify_page(request)


@csrf_protect
@require_http_methods(["GET", "POST"])
def _identify_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render_identify(request, IdentifyForm())
    wait = throttle_wait(request, IdentifyThrottle)  # the same allowance as POST /api/identify
    if wait is not None:
        response = _render_identify(
            request, IdentifyForm(), status=429, error=f"Too many photos in a short time: try again in {wait} seconds."
        )
        response["Retry-After"] = str(wait)
        return response
    form = IdentifyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_identify(request, form, status=400, error="Choose a photo to identify.")
    upload = form.cleaned_data["image"]
    if upload.size > settings.CITYVIBES_MAX_UPLOAD_BYTES:
        return _render_identify(request, IdentifyForm(), status=400, error=_too_big_message())
    data = upload.read()
    try:
        result = identify_image(data=data, top_k=TOP_K, save=form.cleaned_data["save"], similar_limit=SIMILAR_PHOTOS)
    except UploadRejected as error:
        return _render_identify(request, form, status=error.status, error=error.plain)
    except NoActiveModel as error:  # the page's own notice says so already, in words for people
        return _render_identify(request, form, status=error.status)
    except IdentifyError as error:
        message = str(error)
        return _render_identify(request, form, status=error.status, error=message[0].upper() + message[1:] + ".")
    return _render_identify(request, IdentifyForm(), result=result, preview=_preview_data_uri(result.preview_jpeg))


def _preview_data_uri(jpeg: bytes) -> str:
    """The upload shown back as an inline image: unless saved, it is not stored, so it has no URL."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


@require_GET
def city_page(request: HttpRequest, slug: str) -> HttpResponse:
    city = get_object_or_404(City, slug=slug)
    photos = Photo.objects.filter(city=city, hidden=False).select_related("city").order_by("queue_position")
    version = active_model_version()
    in_model = version is not None and city.pk in {int(c) for c in version.cities or []}
    return render(
        request,
        "ml/city.html",
        {
            "city": city,
            "photos": photos[:CITY_PHOTOS],
            "photo_count": photos.count(),
            "model_version": version,
            "in_model": in_model,
            "similarity_basis": city_similarity_for(version).basis if in_model else "none",
            "similar": similar_cities(city, limit=SIMILAR_CITIES, model_version=version) if in_model else [],
        },
    )
