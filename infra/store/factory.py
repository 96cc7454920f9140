"""Pick the backend from settings."""

from __future__ import annotations

from infra.settings import Settings
from infra.store.base import IndexParams, VectorStore
from infra.store.edge import EdgeStore
from infra.store.server import ServerConfig, ServerStore

_memory: ServerStore | None = None


def index_params(settings: Settings) -> IndexParams:
    return IndexParams(
        m=settings.qdrant_hnsw_m,
        ef_construct=settings.qdrant_hnsw_ef_construct,
        payload_m=settings.qdrant_payload_m,
        full_scan_threshold_kb=settings.qdrant_full_scan_threshold_kb,
        hnsw_ef=settings.qdrant_hnsw_ef,
    )


def server_config(settings: Settings) -> ServerConfig:
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
        return EdgeStore(settings.store_path, index_params(settings))
    if settings.qdrant_url == ":memory:":
        if _memory is None:
            _memory = ServerStore(server_config(settings), keep_open=True)
        return _memory
    return ServerStore(server_config(settings))
