from django.conf import settings
from django.views.static import serve


def serve_media(request, path: str):
    """Serve uploaded photos from local storage (the embedded default; S3 serves its own files)."""
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = "public, max-age=86400, immutable"  # files are content-addressed
    return response
