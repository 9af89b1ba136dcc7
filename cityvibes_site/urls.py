from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from cityvibes_site.login_throttle import ThrottledLoginView
from photos.views import serve_media


def healthz(request):
    """Liveness probe: the process answers; touches neither the database nor the cache.

    Also the ceiling in bench/swipe_load.py: the cheapest request Django can serve.
    """
    return JsonResponse({"ok": True})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Before django.contrib.auth's own: failed log-ins are limited (cityvibes_site/login_throttle.py).
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("swipes.api_urls")),
    path("api/", include("ml.api_urls")),
    path("", include("swipes.urls")),
    path("", include("ml.urls")),
]
if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage") and settings.MEDIA_URL.startswith("/"):
    urlpatterns.insert(0, re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.+)$", serve_media, name="media"))
