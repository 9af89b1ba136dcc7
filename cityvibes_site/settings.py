"""City Vibes settings.

Everything is read from environment variables with embedded defaults, so
`manage.py runserver` works on a fresh machine with nothing set:
SQLite, local file storage, Celery tasks run eagerly in-process.

Production switches:
- DATABASE_URL=postgres://user@host:5432/name  -> PostgreSQL
- CITYVIBES_STORAGE=s3 (+ AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL, ...) -> S3-compatible storage
- CELERY_BROKER_URL=redis://127.0.0.1:6379/0 -> real Celery workers
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-change-me"

ALLOWED_HOSTS = [
    h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_celery_results",
    "cityvibes_site",
    "photos",
    "ml",
    "swipes",
]

MIDDLEWARE = [
    # Content-Security-Policy and Permissions-Policy on every response, the 503s below included.
    "cityvibes_site.security_headers.SecurityHeadersMiddleware",
    # Before the rest, so it also sees failures of the middleware below: database outage -> 503, not 500.
    "cityvibes_site.middleware.DatabaseUnavailableMiddleware",
    # Every /api/ answer is JSON; plain HTTP is a 400 there (so this goes above SecurityMiddleware's redirect).
    "cityvibes_site.middleware.ApiAnswersJsonMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves STATIC_ROOT under gunicorn: compressed, and hashed names cached for a year.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # With DEBUG on, the site's 404 and 500 pages instead of Django's technical ones (URL list, traceback).
    "cityvibes_site.middleware.FriendlyErrorPagesMiddleware",
]

ROOT_URLCONF = "cityvibes_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "cityvibes_site.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        # A persistent connection is checked before a request reuses it: after a database restart
        # the first request reconnects instead of failing on a dead connection.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves a few people at once: a write transaction takes the write lock when
    # it begins (IMMEDIATE), and a competing one waits up to 20 s for it instead of failing with
    # "database is locked" halfway through.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed log-ins per account and per address (cityvibes_site/login_throttle.py): refused for the rest of
# the window once over; 0 turns a limit off. Counted in the cache, like the rate limits.
AUTHENTICATION_BACKENDS = ["cityvibes_site.login_throttle.LoginThrottledBackend"]
CITYVIBES_LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("CITYVIBES_LOGIN_FAILURES_PER_ACCOUNT", "5"))
CITYVIBES_LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("CITYVIBES_LOGIN_FAILURES_PER_ADDRESS", "20"))
CITYVIBES_LOGIN_WINDOW_SECONDS = int(os.environ.get("CITYVIBES_LOGIN_WINDOW_SECONDS", "900"))
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "swipes:swipe"
LOGOUT_REDIRECT_URL = "swipes:swipe"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = os.environ.get("DJANGO_MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))

if os.environ.get("CITYVIBES_STORAGE", "local") == "s3":
    # S3-compatible storage (AWS, MinIO, ...): django-storages reads AWS_* below.
    AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "cityvibes")
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
    AWS_S3_CUSTOM_DOMAIN = os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None
    AWS_S3_ADDRESSING_STYLE = os.environ.get("AWS_S3_ADDRESSING_STYLE") or None  # "path" for MinIO and IPs
    AWS_S3_URL_PROTOCOL = os.environ.get("AWS_S3_URL_PROTOCOL", "https:")  # of AWS_S3_CUSTOM_DOMAIN URLs
    AWS_LOCATION = os.environ.get("AWS_LOCATION", "")  # key prefix inside the bucket
    # False (default): plain URLs, the bucket (or CDN) must allow public reads of photos/.
    # True: every URL is signed and expires after AWS_QUERYSTRING_EXPIRE seconds.
    AWS_QUERYSTRING_AUTH = env_bool("AWS_QUERYSTRING_AUTH", False)
    AWS_QUERYSTRING_EXPIRE = int(os.environ.get("AWS_QUERYSTRING_EXPIRE", "3600"))
    AWS_DEFAULT_ACL = None
    # Photo and model files are content-addressed or named by version: they never change.
    AWS_S3_OBJECT_PARAMETERS = {"CacheControl": "public, max-age=86400, immutable"}
    # Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment (or an IAM role),
    # read by boto3 itself, so they never sit in settings.
    DEFAULT_FILE_STORAGE_BACKEND = "storages.backends.s3.S3Storage"
else:
    DEFAULT_FILE_STORAGE_BACKEND = "django.core.files.storage.FileSystemStorage"

STORAGES = {
    "default": {"BACKEND": DEFAULT_FILE_STORAGE_BACKEND},
    # Production: hashed, pre-compressed files from collectstatic (served by WhiteNoise). DEBUG and
    # tests: plain files, so nothing needs collectstatic first.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# DEBUG and tests: WhiteNoise finds files in static/ at request time (no collectstatic, no STATIC_ROOT).
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG

# CACHE_URL=redis://...: Django's Redis backend, shared by every worker (sessions, rate-limit counts).
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Sessions: with a shared cache, read from the cache (no SELECT per request) and written to both, so a
# cache flush loses none. Without one, the database only: each gunicorn worker's local-memory copy
# would outlive a logout or a new session key on another worker.
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if os.environ.get("CACHE_URL") else "db")

# Celery: with no broker configured, tasks run eagerly in the calling process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# Task state and results land in the database (django-celery-results), so every run, its progress
# and its result show in the admin under "Celery Results"; eager runs are recorded too.
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_STORE_EAGER_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With acks_late, a task whose worker died is handed to another worker once this many seconds have
# passed since it was delivered (Redis broker). Keep it above the longest task's run time.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}

# Request bodies: the swipe API takes tiny JSON bodies; uploads are checked by their own limits.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
API_MAX_JSON_BODY_BYTES = 4096

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["cityvibes_site.api_auth.CsrfEnforcingSessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PARSER_CLASSES": ["cityvibes_site.api_parsers.JSONBodyParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cityvibes_site.api_errors.json_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Rate limits count a visitor without a session by address: REMOTE_ADDR, or with N proxies in front
    # that each append to X-Forwarded-For, the Nth address from its end. Never the whole header, which
    # the client writes (DRF's default, None, would use it).
    "NUM_PROXIES": int(os.environ.get("DJANGO_NUM_PROXIES", "0")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "City Vibes API",
    "DESCRIPTION": "Swipe photos, get the cities whose vibe you like.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cityvibes_site.api_schema.document_outage_and_rate_limits",  # 503 on every operation, Retry-After headers
    ],
}

# City Vibes
# How cities are ranked: "taste" (a model of the kinds of place a person likes, read from their
# swipes: swipes/taste.py; the default, see bench/discovery.py) or "sum" (the original rule: the
# liked photos' vectors minus the noped ones'). Every swipe stores its "sum" contribution either way.
CITYVIBES_SCORING_RULE = os.environ.get("CITYVIBES_SCORING_RULE", "taste")
# Which photo comes next: "smart" (spread-out cards first, then the most telling ones; the default)
# or "queue" (one fixed shuffled order for everyone).
CITYVIBES_PHOTO_ORDER = os.environ.get("CITYVIBES_PHOTO_ORDER", "smart")
# While photos keep changing (a harvest), each process rebuilds its model of the collection at most
# this often (seconds); see swipes/collection.py.
CITYVIBES_PHOTO_MATRIX_MAX_AGE = float(os.environ.get("CITYVIBES_PHOTO_MATRIX_MAX_AGE", "30"))
CITYVIBES_DISPLAY_MAX_SIDE = int(os.environ.get("CITYVIBES_DISPLAY_MAX_SIDE", "800"))
CITYVIBES_THUMB_MAX_SIDE = 240
CITYVIBES_MAX_UPLOAD_BYTES = int(os.environ.get("CITYVIBES_MAX_UPLOAD_BYTES", str(15 * 1024 * 1024)))
CITYVIBES_MAX_IMAGE_PIXELS = int(os.environ.get("CITYVIBES_MAX_IMAGE_PIXELS", str(50_000_000)))
# Identify decodes a baseline JPEG at 1/2 to 1/8 scale; anything else (PNG, WebP, a progressive JPEG...) must
# be decoded in full first, and is refused above this many pixels (memory: README, "Security").
CITYVIBES_IDENTIFY_MAX_PIXELS = int(os.environ.get("CITYVIBES_IDENTIFY_MAX_PIXELS", str(12_000_000)))
CITYVIBES_ML_CACHE_DIR = Path(os.environ.get("CITYVIBES_ML_CACHE_DIR", BASE_DIR / "var" / "ml-cache"))
# Rate limits per swiper (cityvibes_site/throttling.py): "N/s", "N/min", "N/hour", "N/day" or "off". The counts
# live in the cache: set CACHE_URL=redis://... so all gunicorn workers share them.
# Swipes, undo and reset; the reads (next photos, results) get the same rate, counted separately.
CITYVIBES_RATE_SWIPES = os.environ.get("CITYVIBES_RATE_SWIPES", "120/min")
CITYVIBES_RATE_IDENTIFY = os.environ.get("CITYVIBES_RATE_IDENTIFY", "20/min")
# The quality gate at ingestion (photos/gate.py): each check takes the decoded picture and returns None or
# a one-line reason to refuse it (kept in the admin's ingest rejects). Comma-separated dotted paths.
CITYVIBES_PHOTO_CHECKS = [
    path.strip()
    for path in os.environ.get(
        "CITYVIBES_PHOTO_CHECKS", "photos.quality.looks_drawn,ml.checks.imagenet_says_not_a_photo"
    ).split(",")
    if path.strip()
]
# A new photo whose perceptual hash differs from a stored photo's in at most this many of its 64 bits is a
# near-duplicate, and refused (-1: no near-duplicate check).
CITYVIBES_NEAR_DUPLICATE_BITS = int(os.environ.get("CITYVIBES_NEAR_DUPLICATE_BITS", "6"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}

if not DEBUG:
    # Production behind HTTPS: `manage.py check --deploy` passes with only DJANGO_SECRET_KEY set.
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    # HSTS starts short (60 s, easy to undo); raise to 31536000 once every subdomain serves HTTPS.
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "60"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    # "preload" asks browsers to hard-code HTTPS for the domain; the preload list wants a max-age of a year at
    # least, so it is sent only with one. Below that, Django's reminder to preload (W021) is beside the point.
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True) and SECURE_HSTS_SECONDS >= 31_536_000
    if SECURE_HSTS_SECONDS < 31_536_000:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # Behind a TLS-terminating proxy: gunicorn already trusts X-Forwarded-Proto from FORWARDED_ALLOW_IPS
    # (cityvibes_site/gunicorn.conf.py). For other servers, name the header the proxy sets, e.g.
    # DJANGO_SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto (only if the proxy overwrites it on every request).
    if os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER"):
        _header = os.environ["DJANGO_SECURE_PROXY_SSL_HEADER"].strip().upper().replace("-", "_")
        SECURE_PROXY_SSL_HEADER = (f"HTTP_{_header}", "https")
