"""Django settings for cxloop, read from ``CXLOOP_*`` environment variables.

See ``cxloop.env.example`` at the repository root for every variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

import dj_database_url
from django.utils.translation import gettext_lazy as _

from cxloop.conf import (
    ConfigError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_path,
    env_str,
    env_time_zone,
    env_url,
)

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = env_path("CXLOOP_DATA_DIR", "./var")
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use CXLOOP_SECRET_KEY, else a random key kept in the data directory."""
    configured = env_str("CXLOOP_SECRET_KEY", "")
    if configured:
        if len(configured) < 32:
            raise ConfigError("CXLOOP_SECRET_KEY", "must be at least 32 characters long")
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _database(url: str) -> dict:
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Kept open per thread (like PostgreSQL's): no reconnect and PRAGMAs on every request.
        # WAL lets the web process read while the worker writes; IMMEDIATE avoids
        # "database is locked" upgrades inside transactions.
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


def _huey(url: str, immediate: bool) -> dict:
    parsed = urlparse(url)
    common = {"name": "cxloop", "immediate": immediate, "utc": True}
    consumer = {"workers": env_int("CXLOOP_WORKER_THREADS", 2, minimum=1), "worker_type": "thread"}
    if parsed.scheme in {"redis", "rediss"}:
        return {**common, "huey_class": "huey.RedisHuey", "url": url, "consumer": consumer}
    path = unquote(parsed.path) if parsed.netloc == "" else unquote(parsed.netloc + parsed.path)
    return {**common, "huey_class": "huey.SqliteHuey", "filename": path, "consumer": consumer}


def _email(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(DATA_DIR / "mail"),
        }
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parsed.hostname or "localhost",
        "EMAIL_PORT": parsed.port or (465 if parsed.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parsed.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
        "EMAIL_USE_SSL": parsed.scheme == "smtps",
        "EMAIL_USE_TLS": parsed.scheme == "smtp+tls",
        "EMAIL_TIMEOUT": 20,
    }


SECRET_KEY = _secret_key()
DEBUG = env_bool("CXLOOP_DEBUG", False)
ALLOWED_HOSTS = env_list("CXLOOP_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CXLOOP_CSRF_TRUSTED_ORIGINS", [])

DATABASE_URL = env_url(
    "CXLOOP_DATABASE_URL",
    f"sqlite:///{DATA_DIR / 'cxloop.sqlite3'}",
    ("sqlite", "postgres", "postgresql", "pgsql"),
)
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

QUEUE_URL = env_url(
    "CXLOOP_QUEUE_URL", f"sqlite:///{DATA_DIR / 'queue.sqlite3'}", ("sqlite", "redis", "rediss")
)
HUEY = _huey(QUEUE_URL, immediate=env_bool("CXLOOP_QUEUE_IMMEDIATE", False))


def _cache(url: str) -> dict:
    """The cache every web and worker process shares: rate limits and cached dashboards must
    agree across gunicorn processes, so the default is a directory, not process memory."""
    parsed = urlparse(url)
    if parsed.scheme in {"redis", "rediss"}:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if parsed.scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    path = unquote(parsed.netloc + parsed.path) or str(DATA_DIR / "cache")
    return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": path}


CACHES = {
    "default": _cache(env_url("CXLOOP_CACHE_URL", "file://", ("file", "locmem", "redis", "rediss")))
}
# How many reverse proxies of this deployment append to X-Forwarded-For (0: use REMOTE_ADDR).
CXLOOP_TRUSTED_PROXY_COUNT = env_int("CXLOOP_TRUSTED_PROXY_COUNT", 0, minimum=0)

vars().update(_email(env_url("CXLOOP_EMAIL_URL", "file://", ("file", "smtp", "smtps", "smtp+tls"))))
DEFAULT_FROM_EMAIL = env_str("CXLOOP_EMAIL_FROM", "cxloop@localhost")
# Seconds a web or worker process may reuse an organisation setting it read (0: always read).
CXLOOP_SETTINGS_CACHE_SECONDS = env_int("CXLOOP_SETTINGS_CACHE_SECONDS", 10, minimum=0)
# Web server processes for `cxloop serve` (0: one per core, at least 2).
CXLOOP_WEB_PROCESSES = env_int("CXLOOP_WEB_PROCESSES", 0, minimum=0)
CXLOOP_WEBHOOK_URL = env_str("CXLOOP_WEBHOOK_URL", "")
# Where customers reach the answer pages: survey links in messages are absolute URLs.
CXLOOP_PUBLIC_URL = env_str("CXLOOP_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
CXLOOP_WEBHOOK_SECRET = env_str("CXLOOP_WEBHOOK_SECRET", "")
CXLOOP_OUTBOX_MAX_ATTEMPTS = env_int("CXLOOP_OUTBOX_MAX_ATTEMPTS", 10, minimum=1)
CXLOOP_OUTBOX_KEEP_DAYS = env_int("CXLOOP_OUTBOX_KEEP_DAYS", 90, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "huey.contrib.djhuey",
    "cxloop.core",
    "cxloop.customers",
    "cxloop.surveys",
    "cxloop.cases",
    "cxloop.loyalty",
    "cxloop.retention",
    "cxloop.alerts",
    "cxloop.programs",
    "cxloop.experiments",
    "cxloop.console",
    "cxloop.api",
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
    "django_htmx.middleware.HtmxMiddleware",
    "cxloop.core.middleware.AuditActorMiddleware",
]

ROOT_URLCONF = "cxloop.urls"
WSGI_APPLICATION = "cxloop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cxloop.console.context_processors.console",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

LANGUAGE_CODE = env_choice("CXLOOP_LANGUAGE", "zh-hans", ("zh-hans", "en"))
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env_time_zone("CXLOOP_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
CXLOOP_CURRENCY = "CNY"

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploaded files (case attachments, imports). Never served as /media/: downloads go through
# views that check who may see the case.
MEDIA_ROOT = env_path("CXLOOP_MEDIA_DIR", str(DATA_DIR / "media"))
MEDIA_URL = "/media/"
CXLOOP_ATTACHMENT_MAX_MB = env_int("CXLOOP_ATTACHMENT_MAX_MB", 10, minimum=1)
CXLOOP_ATTACHMENT_MAX_PER_CASE = env_int("CXLOOP_ATTACHMENT_MAX_PER_CASE", 10, minimum=1)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("CXLOOP_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CXLOOP_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
