"""Settings shared by every deployment. Deployment-specific values are read from the environment."""

from pathlib import Path

import environ

from .storage import *  # noqa: F403 - STORAGES: media on the local filesystem or S3 (storage.py)

REPO_ROOT = Path(__file__).resolve().parents[3]
env = environ.Env()

# Where the embedded defaults live: the SQLite database, media files and the embedded broker.
VAR_DIR = Path(env.str("VAR_DIR", default=str(REPO_ROOT / "var")))

SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-development-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "config.apps.PlatformAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "core",
    "accounts",
    "missions",
    "localization",
    "registry",
    "exports",
    "health",
    "demo",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.security_headers.ContentSecurityPolicyMiddleware",
    "missions.tile_middleware.CachedTileMiddleware",  # a tile served before: from memory, no query (tile_access.py)
    "core.debug_errors.JsonErrorsUnderDebugMiddleware",  # with DEBUG on, /api/ and /tiles/ errors stay JSON
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.upload_gate.UploadGateMiddleware",  # before the CSRF check reads a body: its __call__ runs first
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "missions-page"
LOGOUT_REDIRECT_URL = "login"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# Database: any URL dj-database-url understands; the embedded default is a SQLite file under var/.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if "DATABASE_URL" not in env:  # the embedded SQLite file needs its folder
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
SQLITE_OPTIONS = {
    # The embedded default holds a small team's concurrent writes: readers never block the writer (WAL), a writer
    # waits its turn for up to 20 s instead of failing with "database is locked", and a transaction takes the write
    # lock when it begins (IMMEDIATE), so two that read and then write are queued, not one of them refused.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
# The ASGI web server (deploy/gunicorn.conf.py sets DATABASE_POOL) runs each request's database work in a thread of
# its own: connections come from a pool per process instead of staying open per thread (Django's advice for ASGI).
if env.bool("DATABASE_POOL", default=False) and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "pool": {"min_size": 2, "max_size": env.int("DATABASE_POOL_MAX", default=20), "timeout": 10},
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# Celery: the platform enqueues by task name through config.celery_app; it never imports workers.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
# visibility_timeout: a message taken by a worker that vanished (host lost, SIGKILL of the whole worker) comes back
# after this many seconds; longer than any acks_late task runs. A killed pool process gives it back at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 7200,
    **env.json("CELERY_BROKER_TRANSPORT_OPTIONS", default={}),
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = CELERY_BROKER_TRANSPORT_OPTIONS
CELERY_TASK_DEFAULT_QUEUE = "cpu"
# Task name -> queue. The platform enqueues by name (config.celery_app.enqueue); only workers/ defines the tasks.
CELERY_TASK_ROUTES = {
    "workers.ping": {"queue": "cpu"},
    "workers.localize_target": {"queue": "gpu"},
    "workers.repredict_batch": {"queue": "gpu"},
    "workers.fine_tune": {"queue": "gpu"},
    "workers.ingest_basemap": {"queue": "cpu"},
    "workers.export_cvogl": {"queue": "cpu"},
    "workers.sweep": {"queue": "cpu"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A request never waits long on a broker that is down: the click is stored, and the sweep sends it later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.25, "interval_max": 0.5}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # acks_late tasks: a worker holds only the message it works on

# The cache, shared by every web process: the log-in throttle counts failed log-ins here (accounts/login_throttle.py).
# Redis at REDIS_URL unless CACHE_URL names another; `make run` (local settings) keeps it in memory.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="smgeo"),
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},  # a cache that is down never stalls a request
    }
}
# Log-in throttling: this many failed log-ins for a username from one address within the window answer 429.
LOGIN_FAILURES_ALLOWED = env.int("LOGIN_FAILURES_ALLOWED", default=5)
LOGIN_FAILURE_WINDOW_S = env.int("LOGIN_FAILURE_WINDOW_S", default=15 * 60)
LOGIN_ADDRESS_FAILURES_ALLOWED = env.int("LOGIN_ADDRESS_FAILURES_ALLOWED", default=20)  # any usernames, one address
# How long an invitation link to join a team stays usable (it works once).
INVITATION_TTL_S = env.int("INVITATION_TTL_S", default=3 * 24 * 3600)

# Who may create a team (and so become its admin, who can add members and upload models): "staff" (default: site
# staff, the /admin/ site's users) or "anyone" signed in.
TEAM_CREATORS = env.str("TEAM_CREATORS", default="staff")
# Long polls of a target (`?changed_from=&wait=`) one user may have waiting at once in one web process; 429 past it.
LONG_POLLS_PER_USER = env.int("LONG_POLLS_PER_USER", default=20)

# Localization (workers.localize_target): the ground a model reference covers (the window around the drone's GPS,
# unless the model version's config names its own `data.reference_extent_m`), time limit and retries.
LOCALIZE_REFERENCE_EXTENT_M = env.float("LOCALIZE_REFERENCE_EXTENT_M", default=307.2)  # 1024 px at 0.3 m
LOCALIZE_SOFT_TIME_LIMIT_S = env.int("LOCALIZE_SOFT_TIME_LIMIT_S", default=120)
LOCALIZE_MAX_RETRIES = env.int("LOCALIZE_MAX_RETRIES", default=3)
BATCH_SOFT_TIME_LIMIT_S = env.int("BATCH_SOFT_TIME_LIMIT_S", default=3600)
MODEL_CACHE_DIR = env.str("MODEL_CACHE_DIR", default=str(VAR_DIR / "model-cache"))
# The sweep (workers.sweep, every SWEEP_EVERY_S): targets still queued after SWEEP_QUEUED_AFTER_S are sent again;
# targets running past the localization time limit are sent again, or failed after SWEEP_MAX_ATTEMPTS claims.
SWEEP_EVERY_S = env.float("SWEEP_EVERY_S", default=30.0)
SWEEP_QUEUED_AFTER_S = env.float("SWEEP_QUEUED_AFTER_S", default=60.0)
SWEEP_MAX_ATTEMPTS = env.int("SWEEP_MAX_ATTEMPTS", default=3)
# Fine-tuning (workers.fine_tune): past the soft limit the run fails with the reason; GPUs one fine-tune may use
# (default: every visible one; more than one trains with torchrun DDP).
FINE_TUNE_SOFT_TIME_LIMIT_S = env.int("FINE_TUNE_SOFT_TIME_LIMIT_S", default=24 * 3600)
FINE_TUNE_GPUS = env.int("FINE_TUNE_GPUS", default=None)
# A copy of the base model's own data on the worker ("ROOT:NAME" of a CVOGL dataset): each fine-tune then measures
# what it forgets, base and new version on the first FINE_TUNE_BASE_SLICE pairs of its val split.
FINE_TUNE_BASE_DATA = env.str("FINE_TUNE_BASE_DATA", default="")
FINE_TUNE_BASE_SLICE = env.int("FINE_TUNE_BASE_SLICE", default=200)
# Metrics on fewer held-out labels than this are shown greyed as weak, and never auto-promote a version.
METRICS_MIN_N = env.int("METRICS_MIN_N", default=20)
CELERY_BEAT_SCHEDULE = {"sweep": {"task": "workers.sweep", "schedule": SWEEP_EVERY_S}}

# Health check: how long /healthz waits for a worker to answer a ping.
HEALTHZ_WORKER_TIMEOUT_S = env.float("HEALTHZ_WORKER_TIMEOUT_S", default=1.0)

# How long a web process trusts what it learnt about a tile request (missions/tile_access.py): a revoked token, a
# logged-out session or a removed team member loses tile access within this many seconds everywhere (at once in
# the process where the change was saved).
TILE_ACCESS_TTL_S = env.float("TILE_ACCESS_TTL_S", default=30.0)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",  # first: anonymous requests get 401, not 403
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "core.filters.FilterBackend",  # django-filter's, foreign keys as ids that never reveal another team's
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",  # DRF's, with too deep a body a 400
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Uploads: the largest file accepted (basemaps are the largest), and the most pixels each kind of image may decode
# to, checked on its header before any pixel is decoded (a decompression bomb is refused; decoding stays bounded).
# A drone photo of 64 MP covers 48-MP drone cameras and 61-MP full-frame ones (about 256 MB decoded as RGBA).
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=512 * 1024 * 1024)
MAX_DRONE_IMAGE_PIXELS = env.int("MAX_DRONE_IMAGE_PIXELS", default=64_000_000)
MAX_BASEMAP_PIXELS = env.int("MAX_BASEMAP_PIXELS", default=200_000_000)
FILE_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024
# Model checkpoints are checked without loading a tensor (registry/checkpoint_archive.py): what all the archive's
# entries would unpack to, the size of its object description, and how many tensors it may hold.
MAX_CHECKPOINT_UNPACKED_BYTES = env.int("MAX_CHECKPOINT_UNPACKED_BYTES", default=1024**3)
MAX_CHECKPOINT_PICKLE_BYTES = env.int("MAX_CHECKPOINT_PICKLE_BYTES", default=32 * 1024**2)
MAX_CHECKPOINT_TENSORS = env.int("MAX_CHECKPOINT_TENSORS", default=10_000)
SPECTACULAR_SETTINGS = {
    "TITLE": "SMGeo Platform API",
    "DESCRIPTION": "Click an object in a drone photo, get its box on a georeferenced basemap.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the app's own static files (drf-spectacular-sidecar), never a CDN: /api/docs/ works offline
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TargetStatusEnum": "localization.models.TargetStatus",
        "ReviewDecisionEnum": "localization.models.Review.Decision",
        "JobStatusEnum": "core.models.JobStatus",
        "RoleEnum": "accounts.models.Role",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.document_errors",  # the error answers of every operation, in their one shape
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"numexpr": {"level": "WARNING"}},
}

# The demo logins `make run` creates on a first run (local development only): the admin (also the Django
# superuser) and the users `operator` and `reviewer`, who share DEMO_PASSWORD.
DEMO_ADMIN_USERNAME = env.str("DEMO_ADMIN_USERNAME", default="admin")
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="smgeo-admin")
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="smgeo-demo")
