"""The ``store`` fixture of the congruence suite: every backend, the same assertions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.store import VectorStore
from infra.store.edge import EdgeStore
from infra.store.server import ServerConfig, ServerStore

QDRANT_IMAGE = "qdrant/qdrant:v1.16.2"


def docker_unavailable() -> str | None:
    """Why no Docker engine can start a Qdrant server here, or None when one answers."""
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        return f"no Docker engine answers ping ({type(exc).__name__}), so no real Qdrant server"
    return None


@pytest.fixture(scope="session")
def qdrant_server_url() -> Iterator[str]:
    """One real Qdrant server for the session, through testcontainers."""
    reason = docker_unavailable()
    if reason:
        pytest.skip(reason)
    from testcontainers.community.qdrant import QdrantContainer

    with QdrantContainer(QDRANT_IMAGE) as qdrant:
        yield f"http://{qdrant.rest_host_address}"


@pytest.fixture(
    params=["embedded", "memory", pytest.param("server", marks=pytest.mark.integration)]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    s: VectorStore
    if request.param == "embedded":
        s = EdgeStore(tmp_path / "qdrant")
    elif request.param == "memory":
        s = ServerStore(ServerConfig(":memory:"))
    else:
        s = ServerStore(ServerConfig(request.getfixturevalue("qdrant_server_url")))
    yield s
    if request.param == "server":
        for alias in s.aliases():
            s.delete_alias(alias)
        for name in s.list_collections():
            s.delete_collection(name)
    s.close()
