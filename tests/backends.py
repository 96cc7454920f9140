"""The ``store`` fixtures of the congruence suite: every backend, the same assertions
(``tests/conftest.py`` offers them to every package's tests).

The server case uses the Qdrant server at ``LOOKALIKE_TEST_QDRANT_URL`` when that is set (with
``LOOKALIKE_TEST_QDRANT_API_KEY`` if it needs a key), else a throwaway one from testcontainers
when a Docker engine answers, and is skipped when neither is there. Each server test works under
a name prefix of its own and drops only that afterwards, so an existing server keeps what it held.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qdrant_client.models import CollectionStatus

from infra.store import StoreError, VectorStore
from infra.store.base import IndexParams
from infra.store.edge import EdgeStore
from infra.store.server import ServerConfig, ServerStore
from tests.infra.namespaced import NamespacedStore, drop_namespace

# qdrant-client 1.20 warns when the server is more than one minor version away.
QDRANT_IMAGE = "qdrant/qdrant:v1.20.0"
SERVER_URL_ENV = "LOOKALIKE_TEST_QDRANT_URL"
SERVER_KEY_ENV = "LOOKALIKE_TEST_QDRANT_API_KEY"

BACKENDS = ["embedded", "memory", pytest.param("server", marks=pytest.mark.integration)]


def docker_unavailable() -> str | None:
    """Why no Docker engine can start a Qdrant server here, or None when one answers."""
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        return f"no Docker engine answers ping ({type(exc).__name__})"
    return None


def _server_config(url: str, index: IndexParams | None = None, **kwargs: Any) -> ServerConfig:
    api_key = os.environ.get(SERVER_KEY_ENV) or None
    return ServerConfig(url, api_key=api_key, index=index or IndexParams(), **kwargs)


@pytest.fixture(scope="session")
def qdrant_server_url() -> Iterator[str]:
    """A real Qdrant server for the session: ``LOOKALIKE_TEST_QDRANT_URL``, else testcontainers."""
    url = os.environ.get(SERVER_URL_ENV)
    if url:
        probe = ServerStore(_server_config(url, retries=0, timeout=5))
        try:
            probe.list_collections()
        except StoreError as exc:
            pytest.fail(f"{SERVER_URL_ENV}={url} does not answer: {exc}")
        finally:
            probe.close()
        yield url
        return
    reason = docker_unavailable()
    if reason:
        pytest.skip(
            f"no Qdrant server: {SERVER_URL_ENV} is not set and {reason} for testcontainers"
        )
    try:
        from testcontainers.community.qdrant import QdrantContainer
    except ImportError:
        pytest.skip(
            f"no Qdrant server: {SERVER_URL_ENV} is not set and testcontainers>=4.15 is not "
            "installed (pip install -e '.[dev]')"
        )
    with QdrantContainer(QDRANT_IMAGE) as qdrant:
        yield f"http://{qdrant.rest_host_address}"


def open_store(
    request: pytest.FixtureRequest, tmp_path: Path, index: IndexParams | None = None
) -> Iterator[VectorStore]:
    """The store of backend ``request.param``; a server one is namespaced and cleaned after."""
    s: VectorStore
    if request.param == "embedded":
        s = EdgeStore(tmp_path / "qdrant", index)
    elif request.param == "memory":
        s = ServerStore(ServerConfig(":memory:", index=index or IndexParams()))
    else:
        url = request.getfixturevalue("qdrant_server_url")
        inner = ServerStore(_server_config(url, index))
        prefix = f"lookalike-test-{uuid.uuid4().hex[:10]}-"
        try:
            yield NamespacedStore(inner, prefix)
        finally:
            drop_namespace(inner, prefix)
            inner.close()
        return
    yield s
    s.close()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    yield from open_store(request, tmp_path)


# A sparse graph built even on a few hundred points: small beams then visibly miss neighbours.
GRAPH_INDEX = IndexParams(m=4, ef_construct=8, full_scan_threshold_kb=1, indexing_threshold_kb=1)


@pytest.fixture(
    params=["embedded", pytest.param("server", marks=pytest.mark.integration)],
)
def graph_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    """A store whose searches walk an HNSW graph: :data:`GRAPH_INDEX` puts every collection over
    the indexing and full-scan thresholds. qdrant-client's ``:memory:`` mode has no graph (it
    always scans), so it is not among the backends here."""
    yield from open_store(request, tmp_path, GRAPH_INDEX)


def wait_for_graph(store: VectorStore, name: str) -> None:
    """A server builds its HNSW graph in the background, after the writes have returned."""
    if not isinstance(store, NamespacedStore) or not isinstance(store.inner, ServerStore):
        return
    if store.inner.config.url == ":memory:":
        pytest.skip("LOOKALIKE_TEST_QDRANT_URL=:memory: is no server: it builds no HNSW graph")
    client, collection = store.inner.client, store.qualified(name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        info = client.get_collection(collection)
        if info.status == CollectionStatus.GREEN and (info.indexed_vectors_count or 0) > 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"the server built no HNSW graph for {collection!r} within 60 s")
