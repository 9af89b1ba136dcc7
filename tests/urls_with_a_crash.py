"""The site's URLs plus a page that crashes, for tests/test_error_pages.py."""

from django.urls import path

from cityvibes_site.urls import urlpatterns as site_urlpatterns


def crash(request):
    raise RuntimeError("a bug in a view: secret details")


urlpatterns = [path("crash/", crash), *site_urlpatterns]
