"""Pick the backend from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from infra.settings.sections import StoreSettings
from infra.store.base import IndexParams, VectorStore
from infra.store.edge import EdgeStore

if TYPE_CHECKING:
    from infra.store.server import ServerConfig, ServerStore

_memory: ServerStore | None = None
_held: dict[Path, EdgeStore] = {}


def index_params(store: StoreSettings) -> IndexParams:
    return IndexParams(
        m=store.qdrant_hnsw_m,
        ef_construct=store.qdrant_hnsw_ef_construct,
        payload_m=store.qdrant_payload_m,
        full_scan_threshold_kb=store.qdrant_full_scan_threshold_kb,
        hnsw_ef=store.qdrant_hnsw_ef,
    )


def server_config(store: StoreSettings) -> ServerConfig:
    from infra.store.server import ServerConfig

    if store.qdrant_url is None:
        raise ValueError("no Qdrant server configured (LOOKALIKE_QDRANT_URL is unset)")
    key = store.qdrant_api_key.get_secret_value() if store.qdrant_api_key else None
    return ServerConfig(
        url=store.qdrant_url,
        api_key=key,
        timeout=store.qdrant_timeout,
        prefer_grpc=store.qdrant_prefer_grpc,
        retries=store.qdrant_retries,
        index=index_params(store),
        quantization=store.qdrant_quantization,
        shard_number=store.qdrant_shard_number,
        replication_factor=store.qdrant_replication_factor,
    )


def open_store(store: StoreSettings) -> VectorStore:
    """The embedded store unless ``LOOKALIKE_QDRANT_URL`` names a server (or ``:memory:``).

    ``:memory:`` is one store per process, shared by every caller, so that tasks of one flow
    run see each other's writes as they would on a server.
    """
    global _memory
    if store.qdrant_url is None:
        path = store.path
        return _held.get(path) or EdgeStore(path, index_params(store))
    from infra.store.server import ServerStore  # qdrant-client costs ~1.4 s to import

    if store.qdrant_url == ":memory:":
        if _memory is None:
            _memory = ServerStore(server_config(store), keep_open=True)
        return _memory
    return ServerStore(server_config(store))


@contextmanager
def held_store(store: StoreSettings) -> Iterator[None]:
    """Keep the embedded store open in this process while a run writes to it.

    Inside, :func:`open_store` returns one store whose ``close`` only flushes, so a writer that
    opens and closes it per shard stops paying for a collection load each time (about a third
    of the writer's time on 70,000 points). Servers need nothing held: their clients are cheap.
    """
    path = store.path
    if store.qdrant_url is not None or path in _held:
        yield
        return
    edge = _held[path] = EdgeStore(path, index_params(store), keep_open=True)
    try:
        yield
    finally:
        del _held[path]
        edge.release()
