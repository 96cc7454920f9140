"""Pick the backend from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from infra.settings import Settings
from infra.store.base import IndexParams, VectorStore
from infra.store.edge import EdgeStore

if TYPE_CHECKING:
    from infra.store.server import ServerConfig, ServerStore

_memory: ServerStore | None = None
_held: dict[Path, EdgeStore] = {}


def index_params(settings: Settings) -> IndexParams:
    return IndexParams(
        m=settings.qdrant_hnsw_m,
        ef_construct=settings.qdrant_hnsw_ef_construct,
        payload_m=settings.qdrant_payload_m,
        full_scan_threshold_kb=settings.qdrant_full_scan_threshold_kb,
        hnsw_ef=settings.qdrant_hnsw_ef,
    )


def server_config(settings: Settings) -> ServerConfig:
    from infra.store.server import ServerConfig

    if settings.qdrant_url is None:
        raise ValueError("no Qdrant server configured (LOOKALIKE_QDRANT_URL is unset)")
    key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    return ServerConfig(
        url=settings.qdrant_url,
        api_key=key,
        timeout=settings.qdrant_timeout,
        prefer_grpc=settings.qdrant_prefer_grpc,
        retries=settings.qdrant_retries,
        index=index_params(settings),
        quantization=settings.qdrant_quantization,
        shard_number=settings.qdrant_shard_number,
        replication_factor=settings.qdrant_replication_factor,
    )


def open_store(settings: Settings) -> VectorStore:
    """The embedded store unless ``LOOKALIKE_QDRANT_URL`` names a server (or ``:memory:``).

    ``:memory:`` is one store per process, shared by every caller, so that tasks of one flow
    run see each other's writes as they would on a server.
    """
    global _memory
    if settings.qdrant_url is None:
        held = _held.get(settings.store_path)
        return held or EdgeStore(settings.store_path, index_params(settings))
    from infra.store.server import ServerStore  # qdrant-client costs ~1.4 s to import

    if settings.qdrant_url == ":memory:":
        if _memory is None:
            _memory = ServerStore(server_config(settings), keep_open=True)
        return _memory
    return ServerStore(server_config(settings))


@contextmanager
def held_store(settings: Settings) -> Iterator[None]:
    """Keep the embedded store open in this process while a run writes to it.

    Inside, :func:`open_store` returns one store whose ``close`` only flushes, so a writer that
    opens and closes it per shard stops paying for a collection load each time (about a third
    of the writer's time on 70,000 points). Servers need nothing held: their clients are cheap.
    """
    path = settings.store_path
    if settings.qdrant_url is not None or path in _held:
        yield
        return
    store = _held[path] = EdgeStore(path, index_params(settings), keep_open=True)
    try:
        yield
    finally:
        del _held[path]
        store.release()
