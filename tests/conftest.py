"""Shared fixtures: settings in a temporary home, the real data set, one Prefect test harness."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tasks  # noqa: F401  - Prefect defaults before Prefect loads
from infra.settings import Settings
from model.data import DatasetNotFoundError, resolve_root
from tests.backends import graph_store, qdrant_server_url, store  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
def data_root() -> Path:
    """Fashion-MNIST, found the way `lookalike run` finds it (LOOKALIKE_DATA_ROOT, the data
    directory, Debian's package, a download); skipped only where the product could not run."""
    settings = Settings()
    try:
        return resolve_root(
            settings.data.data_root,
            settings.data_dir,
            settings.data.debian_data_dir,
            download=settings.data.download,
        )
    except DatasetNotFoundError as exc:
        pytest.skip(f"Fashion-MNIST is not available, so `lookalike run` could not run: {exc}")


def random_checkpoint(directory: Path, seed: int = 0, width: int = 8) -> str:
    """A small untrained Fashion-MNIST network saved as a checkpoint: indexing needs a model,
    not a good one."""
    import torch

    from infra.checkpoints import save_checkpoint
    from model.configs import EmbeddingNetConfig
    from model.net import EmbeddingNet

    torch.manual_seed(seed)
    net = EmbeddingNet(EmbeddingNetConfig(width=width))
    payload = {"state_dict": net.state_dict(), "model_args": net.config.to_dict()}
    return str(save_checkpoint(directory, payload))


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
