"""The shape of the code that keeps it easy to change: services and tasks import one way only,
and every task is named after the service it runs and retries what is transient."""

import ast
import os
from pathlib import Path

import pytest
from django.db import OperationalError

from payments.exceptions import GatewayTransientError
from shop.celery import app
from shop.dispatch import MAIL_TRANSIENT

ROOT = Path(__file__).resolve().parent.parent
APPS = ["catalog", "inventory", "payments", "orders", "recommendations", "customers"]


def service_modules() -> list[Path]:
    found = []
    for name in APPS:
        found += [ROOT / name / "services.py"] if (ROOT / name / "services.py").exists() else []
        found += sorted((ROOT / name / "services").glob("*.py"))
    return found


def top_level_imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside functions)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", service_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_services_never_import_tasks_at_module_level(path):
    """A service enqueues by importing its task at call time: no services <-> tasks cycle."""
    assert not [name for name in top_level_imports(path) if ".tasks" in name or name == "tasks"]


@pytest.mark.parametrize("app_name", APPS)
def test_tasks_import_their_services_at_module_level(app_name):
    path = ROOT / app_name / "tasks.py"
    if not path.exists():
        pytest.skip(f"{app_name} has no tasks")
    assert any(
        name.startswith(f"{app_name}.services")
        or name == app_name + ".services"
        or name == app_name
        for name in top_level_imports(path)
    )


def our_tasks() -> dict:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.split(".")[0] in APPS}


def test_every_task_is_named_after_the_service_it_runs():
    import importlib

    for name in our_tasks():
        app_name, _, function = name.split(".")
        assert function.endswith("_task"), name
        service = function.removesuffix("_task")
        # Training is the one service module of its own: only the training worker loads it.
        modules = [f"{app_name}.services"] + (
            ["recommendations.training"] * (app_name == "recommendations")
        )
        assert any(hasattr(importlib.import_module(module), service) for module in modules), (
            f"{name} runs no service {app_name}.{service}"
        )


@pytest.mark.parametrize(
    ("task_name", "transient"),
    [
        ("orders.tasks.order_process_task", GatewayTransientError),
        ("payments.tasks.payment_give_back_task", GatewayTransientError),
        ("orders.tasks.order_email_send_task", MAIL_TRANSIENT[0]),
        ("inventory.tasks.reorder_notify_task", MAIL_TRANSIENT[0]),
        ("recommendations.tasks.interactions_record_order_task", OperationalError),
    ],
)
def test_tasks_that_talk_to_the_outside_retry_its_transient_errors(task_name, transient):
    task = our_tasks()[task_name]
    assert issubclass(transient, tuple(task.autoretry_for))
    assert task.retry_backoff and task.retry_jitter and task.max_retries >= 3
    assert task.acks_late


def test_web_processes_do_not_load_the_numerical_stack():
    """A web process (settings, URL configuration, WSGI application) serves stored
    recommendations and draws PDFs on demand: it must not import numpy, scipy, scikit-learn or
    fpdf2, about 110 MiB per worker. Only training and document drawing load them. Nor the
    Stripe library (about 8 MiB), which only the Stripe webhook and gateway need."""
    import subprocess
    import sys

    probe = (
        "import sys, django; django.setup();"
        "import shop.wsgi; from django.urls import get_resolver; get_resolver().url_patterns;"
        "heavy = ('numpy', 'scipy', 'sklearn', 'fpdf', 'stripe');"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings_test"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_naming_a_rendition_does_not_load_every_pillow_plugin():
    """A page naming pictures asks pilkit for each rendition format's extension; a format
    Pillow has not registered makes it load all of Pillow's plugins (about 2 MiB per web
    worker). catalog.renditions registers the formats it uses."""
    import subprocess
    import sys

    probe = (
        "import sys, django; django.setup();"
        "from catalog import renditions; from pilkit.utils import format_to_extension;"
        "print([format_to_extension(f) for f, _ in renditions.FORMATS.values()]);"
        "print('PIL.TiffImagePlugin' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings_test"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['.webp',", "'.jpg']", "False"]


def test_the_algorithm_names_web_processes_know_are_the_engines():
    from recommendations import engine
    from recommendations.models import ALGORITHMS

    assert tuple(engine.ALGORITHMS) == ALGORITHMS
