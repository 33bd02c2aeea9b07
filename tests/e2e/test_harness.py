"""The harness itself: when browser tests skip and when they must fail."""

import pytest

from tests.e2e.helpers import chromium_or_skip


def test_a_missing_browser_skips_with_the_reason(monkeypatch):
    monkeypatch.delenv("CHROMIUM_REQUIRED", raising=False)

    with pytest.raises(pytest.skip.Exception) as skipped:
        chromium_or_skip("/usr/bin/chromium-that-is-not-there")

    assert "Chromium not found at /usr/bin/chromium-that-is-not-there" in str(skipped.value)
    assert "CI installs Debian's chromium" in str(skipped.value)


def test_a_missing_browser_fails_when_ci_requires_it(monkeypatch):
    monkeypatch.setenv("CHROMIUM_REQUIRED", "1")

    with pytest.raises(pytest.fail.Exception):
        chromium_or_skip("/usr/bin/chromium-that-is-not-there")


def test_an_existing_browser_is_used(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("")

    assert chromium_or_skip(str(fake)) == str(fake)
