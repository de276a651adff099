"""Convive settings: one file, read from the environment.

Every knob is an environment variable documented in `.env.example`. An integration
(Redis, Twilio) turns on when its credentials are present.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.conf.locale import LANG_INFO
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
DEMO_MODE = env.bool("DEMO_MODE", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="" if not DEBUG else "insecure-dev-key-change-me")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PUBLIC_BASE_URL])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "channels",
    "leaflet",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "community",
    "reports",
    "sms_gateway",
    "insights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages shrink to a third over 2G. CSRF tokens are masked per response (no BREACH oracle).
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reports.context_processors.site",
            ],
        },
    },
]

# Database: the bootstrap script always exports DATABASE_URL; the default suits a
# developer whose PostgreSQL listens on the standard port.
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgis://postgres@127.0.0.1:5432/convive")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Under ASGI each request's sync code may run on its own thread, so per-thread persistent
# connections pile up; a pool bounds them per process instead.
DB_POOL_MAX = env.int("DB_POOL_MAX", default=8)
if DB_POOL_MAX:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DB_POOL_MAX, "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "convive",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: eager (in-process) when there is no broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = env.str("TIME_ZONE", default="America/Tegucigalpa")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PUBLIC_BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin: other sites learn nothing, while our own form posts keep a real Origin for CSRF.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Languages. Haitian Creole is not among Django's own, so it is described here.
LANG_INFO.setdefault(
    "ht",
    {"bidi": False, "code": "ht", "name": "Haitian Creole", "name_local": "Kreyòl ayisyen"},
)
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="es")
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("fr", _("French")),
    ("ht", _("Haitian Creole")),
    ("pt", _("Portuguese")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="America/Tegucigalpa")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served from the source folders while developing and testing; a deployment serves what
# collectstatic wrote, with gzip copies that a slow connection gets instead.
WHITENOISE_USE_FINDERS = env.bool("STATIC_FROM_SOURCE", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Photos are private (committee-only): they are stored here and never served as
# public static files.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media-private/"

# Resident intake limits.
PHOTO_MAX_BYTES = env.int("PHOTO_MAX_BYTES", default=10 * 1024 * 1024)
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=40_000_000)
PHOTO_MAX_EDGE = env.int("PHOTO_MAX_EDGE", default=2048)
PHOTO_THUMBNAIL_EDGE = 320
PHOTO_MAX_PER_REPORT = env.int("PHOTO_MAX_PER_REPORT", default=3)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
TRACK_LOOKUPS_PER_WINDOW = env.int("TRACK_LOOKUPS_PER_WINDOW", default=20)
TRACK_LOOKUP_WINDOW_SECONDS = env.int("TRACK_LOOKUP_WINDOW_SECONDS", default=600)
QUICK_EXIT_URL = env.str("QUICK_EXIT_URL", default="https://www.wikipedia.org/")
# Map tiles: none by default, so the map works offline with area outlines only.
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="")

LEAFLET_CONFIG = {
    "TILES": [("Map", MAP_TILE_URL, {"attribution": MAP_TILE_ATTRIBUTION})] if MAP_TILE_URL else [],
    "DEFAULT_CENTER": (15.5, -88.0),
    "DEFAULT_ZOOM": 10,
    "RESET_VIEW": False,
}

# SMS (Twilio) and pseudonymisation keys.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")
PHONE_HASH_KEY = env.str("PHONE_HASH_KEY", default="" if not DEBUG else "dev-phone-hash-key")
REPLY_ADDRESS_KEY = env.str("REPLY_ADDRESS_KEY", default="")

# SMS and WhatsApp. Twilio sends when its credentials are present; otherwise the console.
SMS_BACKEND = env.str("SMS_BACKEND", default="twilio" if TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN else "console")
SMS_DEFAULT_REGION = env.str("SMS_DEFAULT_REGION", default="HN")
SMS_DEFAULT_LANGUAGE = env.str("SMS_DEFAULT_LANGUAGE", default=LANGUAGE_CODE)
# Where an SMS report goes when the resident skips the "where" question (an Area code).
SMS_DEFAULT_AREA_CODE = env.str("SMS_DEFAULT_AREA_CODE", default="")
SMS_CONVERSATION_IDLE_MINUTES = env.int("SMS_CONVERSATION_IDLE_MINUTES", default=30)
SMS_REPLY_ADDRESS_RETENTION_DAYS = env.int("SMS_REPLY_ADDRESS_RETENTION_DAYS", default=30)
SMS_MAX_REQUEST_BYTES = env.int("SMS_MAX_REQUEST_BYTES", default=32 * 1024)
SMS_MAX_BODY_CHARS = env.int("SMS_MAX_BODY_CHARS", default=1600)
SMS_MEDIA_PER_MESSAGE = 10
SMS_SEND_MAX_ATTEMPTS = env.int("SMS_SEND_MAX_ATTEMPTS", default=6)
SMS_RECONCILE_WINDOW_HOURS = env.int("SMS_RECONCILE_WINDOW_HOURS", default=6)

CELERY_BEAT_SCHEDULE = {
    "sms-conversations-expire": {"task": "sms_gateway.tasks.conversations_expire", "schedule": 60.0},
    "sms-inbound-retry": {"task": "sms_gateway.tasks.inbound_retry", "schedule": 120.0},
    "sms-reconcile": {"task": "sms_gateway.tasks.reconcile", "schedule": 900.0},
    "sms-outbound-sweep": {"task": "sms_gateway.tasks.outbound_sweep", "schedule": 300.0},
    "sms-retention-purge": {"task": "sms_gateway.tasks.retention_purge", "schedule": 3600.0},
    # Mondays 03:15 in CELERY_TIMEZONE (the project's): the ISO week that just ended is complete.
    # Released tables are audited in the background after counts change; requests never wait.
    "insights-releases-refresh": {"task": "insights.tasks.releases_refresh_task", "schedule": 120.0},
    "insights-early-warning": {
        "task": "insights.tasks.early_warning_weekly",
        "schedule": crontab(minute=15, hour=3, day_of_week="mon"),
    },
}

# Insights: tier B (institutions) suppresses counts below this; tier A (public) follows the 10-5 rule.
INSIGHTS_SUPPRESSION_THRESHOLD = env.int("INSIGHTS_SUPPRESSION_THRESHOLD", default=5)

# The API: session logins only (analysts use the same accounts as the dashboard); every view
# states who may call it, and a view that forgets is closed to anonymous callers.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Swagger UI and ReDoc come from drf-spectacular-sidecar's static files: no CDN, works offline.
SPECTACULAR_SETTINGS = {
    "TITLE": "Convive API",
    "DESCRIPTION": (
        "Anonymised aggregates of validated community-safety reports, never single reports.\n\n"
        "Tier B (`/api/v1/aggregates/`): institution analysts, logged in, see their jurisdiction; counts "
        "below the suppression threshold, and the cells that would give them away, are withheld "
        '(`count` null, `shown` "x"). Tier A (`/api/v1/open-data/aggregates/`): anyone; counts 1 to 9 '
        'are shown as "<10", the rest rounded to the nearest 5, and only periods that ended at least '
        "a full month ago. A table that cannot be released safely is answered with status "
        '"refused" and a message.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would otherwise ask an online validator about the schema.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/committee/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
LOGIN_ATTEMPTS_PER_WINDOW = env.int("LOGIN_ATTEMPTS_PER_WINDOW", default=5)
LOGIN_ATTEMPT_WINDOW_SECONDS = env.int("LOGIN_ATTEMPT_WINDOW_SECONDS", default=900)

DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.AlwaysSafeExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Request bodies and headers can carry phone numbers: never log them.
    "loggers": {"django.request": {"level": "ERROR", "propagate": True}},
}

# GDAL older than 3.9 cannot block file and network access from spatial references.
# Boundary files come only from administrators through `import_areas`, never from residents.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
