"""Settings read from the environment.

Defaults run on a laptop with nothing installed (SQLite, a filesystem Celery broker under ``var/``);
``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL and Redis.
"""

from datetime import date, timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("BACKOFFICE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",  # first: its runserver serves ASGI (HTTP and WebSocket on one port)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    "axes",
    "health_check",
    "channels",
    "shops",
    "events",
    "agents",
    "chats",
    "evaluations",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees every login view's answer (django-axes: lockout after repeated failures).
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out (username, client IP) before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backoffice" / "templates"],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.str("DJANGO_LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "backoffice" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# Security: strict unless DEBUG. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER via env.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers probe the health endpoints over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/"]

# Login protection (django-axes) for the admin and POST /api/v1/auth/token/: after AXES_FAILURE_LIMIT failed
# logins of one username from one client IP, that pair is locked for AXES_COOLOFF_MINUTES (0: until operations
# staff unlock it in the admin, "Access attempts", or with `manage.py axes_reset_username NAME`).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
_axes_cooloff = env.int("AXES_COOLOFF_MINUTES", default=30)
AXES_COOLOFF_TIME = timedelta(minutes=_axes_cooloff) if _axes_cooloff else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "backoffice.security.lockout_response"
AXES_COOLOFF_MESSAGE = _("Too many failed logins: this account is locked from your address for a while. Try later.")
AXES_PERMALOCK_MESSAGE = _("Too many failed logins: this account is locked. Ask platform operations to unlock it.")
# The client IP: REMOTE_ADDR unless a trusted proxy in front sets a header (e.g. HTTP_X_FORWARDED_FOR) and says how
# many proxies there are; never trust a header no proxy of ours overwrites, or clients could pick their own IP.
AXES_IPWARE_META_PRECEDENCE_ORDER = (*env.list("DJANGO_CLIENT_IP_HEADERS", default=[]), "REMOTE_ADDR")
AXES_IPWARE_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0) or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # Django's own console handler would print its records a second time through the root logger.
    "loggers": {"django": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# REST framework and schema
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["backoffice.api.permissions.IsShopMember"],
    "DEFAULT_PARSER_CLASSES": [
        "backoffice.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "backoffice.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backoffice.api.exceptions.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Customer-service back office API",
    "DESCRIPTION": "Shops, agents, routing groups, chats, evaluations and service-diagnosis metrics.",
    "VERSION": "1.0.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backoffice.api.schema.add_error_responses",
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PhaseEnum": "shops.choices.ServicePhase",
        "GroupPhaseEnum": "agents.choices.GroupPhase",
        "AgentStatusEnum": "agents.choices.AgentStatus",
        "OrderStatusEnum": "shops.choices.OrderStatus",
        "ConversationStatusEnum": "chats.choices.ConversationStatus",
        "InviteChannelEnum": "evaluations.choices.InviteChannel",
        "InviteStatusEnum": "evaluations.choices.InviteStatus",
        "ExportKindEnum": "chats.choices.ExportKind",
        "ExportFormatEnum": "chats.choices.ExportFormat",
        "ExportStatusEnum": "chats.choices.ExportStatus",
        "MetricScopeEnum": "evaluations.choices.MetricScope",
        "PhraseScopeEnum": "agents.choices.PhraseScope",
        "AutoReplyTriggerEnum": "agents.choices.AutoReplyTrigger",
        "TaskKindEnum": "chats.choices.TaskKind",
        "TaskStatusEnum": "chats.choices.TaskStatus",
        "NotificationKindEnum": "chats.choices.NotificationKind",
        "ReceptionTierEnum": "evaluations.choices.ReceptionTier",
        "EventTypeEnum": "events.choices.EventType",
        "DeliveryStatusEnum": "events.models.DeliveryStatus",
    },
}

# Celery: a filesystem broker under var/ by default, so the worker and beat need no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # The exchange bindings: under var/ too, not in whatever directory a process was started from.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # With acks_late, a message whose worker died unacknowledged goes back to the queue after this many seconds.
    # It must outlast the longest task (time limit above): every task is idempotent, but a redelivery of a task still
    # running would do its work twice at once for nothing.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}

# Domain settings (DESIGN.md)
PLATFORM_LINK_ALLOWLIST = env.list(
    "PLATFORM_LINK_ALLOWLIST", default=["taobao.com", "tmall.com", "1688.com", "alipay.com", "tb.cn"]
)
AGENT_INVITE_RETIRED_ON = date.fromisoformat(env.str("AGENT_INVITE_RETIRED_ON", default="2023-03-29"))
SERVICE_PHASE_PAID_WINDOW_DAYS = 21
BOT_MATCHER = env.str("BOT_MATCHER", default="chats.assistant.bot.IndexMatcher")
# The assistant answers its best FAQ match at or above this confidence (0..1), asks "did you mean ..." with the top
# three questions at or above the lower one, and falls back below it (chats.assistant.index).
ASSISTANT_ANSWER_CONFIDENCE = env.float("ASSISTANT_ANSWER_CONFIDENCE", default=0.3)
ASSISTANT_CLARIFY_CONFIDENCE = env.float("ASSISTANT_CLARIFY_CONFIDENCE", default=0.2)
# Shops whose FAQ index each process keeps in memory (least recently used dropped first).
ASSISTANT_INDEX_CACHE_SHOPS = env.int("ASSISTANT_INDEX_CACHE_SHOPS", default=256)
# A cached index is rebuilt after this long even when its FAQ is unchanged (the shop's item titles move on).
ASSISTANT_INDEX_MAX_AGE_SECONDS = env.int("ASSISTANT_INDEX_MAX_AGE_SECONDS", default=900)
QUEUE_SWEEP_BATCH = 200
IDLE_CLOSE_BATCH = 500
# Exports (chat monitoring): files are deleted this many days after they were written (the record stays).
EXPORT_RETENTION_DAYS = env.int("EXPORT_RETENTION_DAYS", default=7)
EXPORT_CHUNK_ROWS = 5000  # rows fetched per round trip from the server-side cursor
# A running export whose worker died is claimed again by the redelivered task after this long: no live run lasts
# longer than the task time limit. Keep it below CELERY_VISIBILITY_TIMEOUT, which decides when redelivery happens.
EXPORT_STALE_RUNNING_SECONDS = env.int("EXPORT_STALE_RUNNING_SECONDS", default=CELERY_TASK_TIME_LIMIT)
# Service stars (DESIGN.md): the highest level whose 7-day 3-minute rate and 7-day satisfaction rate are both
# at least the thresholds; otherwise 3 stars.
METRICS_STAR_THRESHOLDS = [
    {
        "stars": 5,
        "response_rate_3m": env.float("METRICS_5_STARS_RESPONSE_RATE", default=0.9),
        "satisfaction_rate": env.float("METRICS_5_STARS_SATISFACTION_RATE", default=0.9),
    },
    {
        "stars": 4,
        "response_rate_3m": env.float("METRICS_4_STARS_RESPONSE_RATE", default=0.8),
        "satisfaction_rate": env.float("METRICS_4_STARS_SATISFACTION_RATE", default=0.8),
    },
]
METRICS_FAST_RESPONSE_BADGE_RATE = env.float("METRICS_FAST_RESPONSE_BADGE_RATE", default=0.8)

# Events and webhooks (the events app; docs/webhooks.md). Events older than EVENTS_RETENTION_DAYS are deleted hourly,
# with their webhook deliveries. A webhook POST gives up after WEBHOOK_TIMEOUT_SECONDS; a failed delivery is tried
# again WEBHOOK_RETRY_SCHEDULE_SECONDS[n] seconds after it was created (retry n, so the last one 24 hours after the
# event by default) and is failed after the last; WEBHOOK_MAX_CONSECUTIVE_FAILURES failed attempts in a row disable
# the subscription. A worker owns the deliveries it claimed for WEBHOOK_LEASE_SECONDS (extended while it works);
# deliveries whose worker died are claimed again once that lease is over, so it must outlast one POST.
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=14)
WEBHOOK_RETRY_SCHEDULE_SECONDS = env.list(
    "WEBHOOK_RETRY_SCHEDULE_SECONDS", cast=int, default=[60, 300, 1800, 7200, 21600, 86400]
)
WEBHOOK_MAX_CONSECUTIVE_FAILURES = env.int("WEBHOOK_MAX_CONSECUTIVE_FAILURES", default=20)
# Off in production: webhook URLs must not reach loopback, private, link-local, multicast or reserved addresses.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=60)
WEBHOOK_DELIVERY_BATCH = env.int("WEBHOOK_DELIVERY_BATCH", default=200)  # deliveries per task (one subscription)
if WEBHOOK_LEASE_SECONDS <= WEBHOOK_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("WEBHOOK_LEASE_SECONDS must be longer than WEBHOOK_TIMEOUT_SECONDS.")
# Mail: a disabled webhook is reported to the shop's owner by email. EMAIL_URL as django-environ reads it, e.g.
# smtp+tls://user:password@smtp.example.com:587; by default mails are written to the worker's log.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="backoffice@localhost")

# Live push (events.live, /ws/v1/events/). With Redis (REDIS_URL, else a redis:// CELERY_BROKER_URL) the channel layer
# is channels-redis and every commit nudges every ASGI process at once; without it (make run on SQLite) each process
# reads the outbox every LIVE_POLL_SECONDS_LOCAL. A client must authenticate within LIVE_AUTH_SECONDS; a ping goes out
# every LIVE_PING_SECONDS, when access is checked again.
ASGI_APPLICATION = "backoffice.asgi.application"
_LIVE_REDIS_URL = env.str("REDIS_URL", default="") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
CHANNEL_LAYERS = {
    "default": (
        {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [_LIVE_REDIS_URL]}}
        if _LIVE_REDIS_URL
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}
LIVE_POLL_SECONDS = env.float("LIVE_POLL_SECONDS", default=2.0)
LIVE_POLL_SECONDS_LOCAL = env.float("LIVE_POLL_SECONDS_LOCAL", default=0.25)
LIVE_NUDGE_WINDOW_SECONDS = env.float("LIVE_NUDGE_WINDOW_SECONDS", default=0.02)  # commits per nudge: coalesced
LIVE_AUTH_SECONDS = env.float("LIVE_AUTH_SECONDS", default=10.0)
LIVE_PING_SECONDS = env.float("LIVE_PING_SECONDS", default=25.0)
# Presence: an online agent with no open connection for this long is set offline (their chats stay theirs).
PRESENCE_GRACE_SECONDS = env.int("PRESENCE_GRACE_SECONDS", default=60)
