"""Shared fixtures: settings in a temporary home, the real data set, one Prefect test harness."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tasks  # noqa: F401  - Prefect defaults before Prefect loads
from infra.settings import Settings


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The Fashion-MNIST files named by LOOKALIKE_DATA_ROOT (CI points it at ../shared/datasets)."""
    value = os.environ.get("LOOKALIKE_DATA_ROOT")
    if not value:
        pytest.skip("LOOKALIKE_DATA_ROOT is not set: point it at a folder holding FashionMNIST/raw")
    return Path(value).expanduser().resolve()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings isolated in ``tmp_path``; keyword arguments override fields."""

    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {"home": tmp_path / "home", "progress": False}
        return Settings(**{**base, **overrides})

    return make


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """One temporary Prefect API for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
