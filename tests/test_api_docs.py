"""The partners' guide (docs/api.md) shows the code CI runs, and every error code."""

import importlib.util
from pathlib import Path

from shop.api.errors import ERROR_CODES

ROOT = Path(__file__).resolve().parent.parent


def load_snippets():
    spec = importlib.util.spec_from_file_location("snippets", ROOT / "clients" / "snippets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_guides_snippets_are_the_quick_starts_code():
    assert load_snippets().problems() == []


def test_a_snippet_that_drifted_from_its_file_is_reported():
    snippets = load_snippets()
    doc = snippets.DOC.read_text().replace("page_size=10", "page_size=11", 1)

    found = snippets.problems(doc)

    assert len(found) == 1 and "clients/python/quickstart.py#products" in found[0]


def test_a_code_block_without_its_file_is_reported():
    snippets = load_snippets()

    found = snippets.problems(snippets.DOC.read_text() + "\n```python\nprint('hi')\n```\n")

    assert len(found) == 1 and "without a marker" in found[0]


def test_the_guide_lists_every_error_code():
    guide = (ROOT / "docs" / "api.md").read_text()

    assert [code for code in ERROR_CODES if f"| `{code}` |" not in guide] == []


def test_the_changelog_has_the_served_version(settings):
    changelog = (ROOT / "docs" / "api-changelog.md").read_text()

    assert f"\n## {settings.SPECTACULAR_SETTINGS['VERSION']} " in changelog
