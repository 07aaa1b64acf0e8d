"""A missing outside dependency skips a test locally and fails it under CI=true (tests/requires.py)."""

from __future__ import annotations

import pytest

from tests.requires import require, requires


def test_missing_dependency_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    require(True, "present")
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        require(False, "chromium is not installed")


@pytest.mark.parametrize("value", ["true", "True", "1"])
def test_missing_dependency_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    require(True, "present")
    with pytest.raises(pytest.fail.Exception, match="CI=true and a test dependency is missing: no unshare"):
        require(False, "no unshare")


def test_the_mark_carries_its_condition() -> None:
    mark = requires(0, "shared data missing").mark
    assert mark.name == "requires" and mark.kwargs == {"condition": False, "reason": "shared data missing"}
