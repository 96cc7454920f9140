from __future__ import annotations

import time

import pytest

from infra.store import StoreUnavailableError
from infra.store.server import ServerConfig, ServerStore


def test_unreachable_server_fails_after_bounded_retries() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    store = ServerStore(ServerConfig("http://127.0.0.1:9", retries=2, backoff=0.05, timeout=2))
    t = time.perf_counter()
    with pytest.raises(
        StoreUnavailableError, match=r"unreachable after 3 tries.*LOOKALIKE_QDRANT_URL"
    ):
        store.count("anything")
    assert time.perf_counter() - t < 10
    store.close()
