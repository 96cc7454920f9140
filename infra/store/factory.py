"""Pick the backend from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from infra.settings.sections import StoreSettings
from infra.store.base import IndexParams
from infra.store.edge import EdgeStore
from infra.store.protocol import VectorStore

if TYPE_CHECKING:
    from infra.store.server import ServerConfig, ServerStore

# qdrant-client's in-process mode is a database that lives in one client: every caller in the
# process must share it, as callers of a server share the server.
_memory: ServerStore | None = None
# The embedded store a writing run holds open, seen by the tasks of that run only (their
# context), not by the rest of the process.
_held: ContextVar[EdgeStore | None] = ContextVar("lookalike_held_store", default=None)


def index_params(store: StoreSettings) -> IndexParams:
    return IndexParams(
        m=store.qdrant_hnsw_m,
        ef_construct=store.qdrant_hnsw_ef_construct,
        payload_m=store.qdrant_payload_m,
        full_scan_threshold_kb=store.qdrant_full_scan_threshold_kb,
        hnsw_ef=store.qdrant_hnsw_ef,
        quantization=store.qdrant_quantization,
        oversampling=store.qdrant_oversampling,
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
        shard_number=store.qdrant_shard_number,
        replication_factor=store.qdrant_replication_factor,
    )


def open_store(store: StoreSettings, read_only: bool = False) -> VectorStore:
    """The embedded store unless ``LOOKALIKE_QDRANT_URL`` names a server (or ``:memory:``).

    ``:memory:`` is one store per process, shared by every caller, so that tasks of one flow
    run see each other's writes as they would on a server. A ``read_only`` embedded store
    shares each collection it opens with other readers (the API's workers, a command-line
    query) and keeps writers and prune out meanwhile; a server needs no such care.
    """
    global _memory
    if store.qdrant_url is None:
        held = _held.get()
        if held is not None and held.root == store.path:
            return held
        return EdgeStore(store.path, index_params(store), read_only=read_only)
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
    held = _held.get()
    if store.qdrant_url is not None or (held is not None and held.root == store.path):
        yield
        return
    edge = EdgeStore(store.path, index_params(store), keep_open=True)
    token = _held.set(edge)
    try:
        yield
    finally:
        _held.reset(token)
        edge.release()
