"""The Celery application, configured from Django settings (the ``CELERY_`` namespace)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Tasks read the primary only, never the replica (shop.db_router).
from shop.db_router import connect_task_signals  # noqa: E402

connect_task_signals()
