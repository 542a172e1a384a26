"""Settings for the test suite: the real settings with a synchronous queue."""

import os

os.environ.setdefault("CXLOOP_DATA_DIR", os.path.join(os.getcwd(), "var", "test"))
os.environ["CXLOOP_QUEUE_IMMEDIATE"] = "1"

from cxloop.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Rolled-back test transactions would leave stale values in the per-process settings cache.
CXLOOP_SETTINGS_CACHE_SECONDS = 0
# Each test process its own cache: a file cache would carry rate-limit counts between runs.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
