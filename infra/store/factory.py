"""Pick the backend from settings."""

from __future__ import annotations

from infra.settings import Settings
from infra.store.base import VectorStore
from infra.store.edge import EdgeStore
from infra.store.server import ServerStore

_memory: ServerStore | None = None


def open_store(settings: Settings) -> VectorStore:
    """The embedded store unless ``LOOKALIKE_QDRANT_URL`` names a server (or ``:memory:``).

    ``:memory:`` is one store per process, shared by every caller, so that tasks of one flow
    run see each other's writes as they would on a server.
    """
    global _memory
    if settings.qdrant_url is None:
        return EdgeStore(settings.store_path)
    if settings.qdrant_url == ":memory:":
        if _memory is None:
            _memory = ServerStore(":memory:", keep_open=True)
        return _memory
    key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    return ServerStore(settings.qdrant_url, api_key=key, timeout=settings.qdrant_timeout)
