"""Server backend: qdrant-client against a Qdrant URL, or its in-process ``:memory:`` mode."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from infra.store.base import (
    CollectionSpec,
    IndexParams,
    PointBatch,
    StoreBase,
    StoreError,
    StoreUnavailableError,
)
from infra.store.server_reads import ServerReads
from infra.store.server_requests import (
    SCHEMAS,
    collection_settings,
)
from infra.store.shared import (
    check_dimension,
    check_dimension_of,
    unknown_collection,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ServerConfig:
    """How to reach the server and how its collections are built."""

    url: str
    api_key: str | None = None
    timeout: float = 30.0
    prefer_grpc: bool = False
    retries: int = 3
    backoff: float = 0.5
    index: IndexParams = field(default_factory=IndexParams)
    shard_number: int | None = None
    replication_factor: int | None = None


class ServerStore(ServerReads, StoreBase):
    """The same contract as the embedded store, over qdrant-client."""

    backend = "server"
    writes_while_served = True  # the server takes concurrent readers and writers

    def __init__(self, config: ServerConfig, keep_open: bool = False) -> None:
        self.config = config
        self.url = config.url
        self._keep_open = keep_open
        if config.url == ":memory:":
            self._client = QdrantClient(location=":memory:")
        else:
            self._client = QdrantClient(
                url=config.url,
                api_key=config.api_key,
                timeout=int(config.timeout),
                prefer_grpc=config.prefer_grpc,
            )
        self._dims: dict[str, int] = {}
        # By the name asked: the API asks by collection; an alias that moves to a collection
        # of another spec is seen by the next store opened.
        self._indexed: dict[str, frozenset[str]] = {}

    @property
    def _index(self) -> IndexParams:
        return self.config.index

    @property
    def client(self) -> QdrantClient:
        """The underlying qdrant-client, for callers that speak Qdrant directly."""
        return self._client

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one request; retry a bounded number of times with backoff while unreachable."""
        for attempt in range(self.config.retries + 1):
            try:
                return fn()
            except (ResponseHandlingException, ConnectionError, TimeoutError) as exc:
                if attempt == self.config.retries:
                    raise StoreUnavailableError(
                        f"Qdrant at {self.url} is unreachable after {attempt + 1} tries "
                        f"({type(exc).__name__}): start it (`docker compose up -d qdrant`), check "
                        "LOOKALIKE_QDRANT_URL and the API key, or unset LOOKALIKE_QDRANT_URL to "
                        "use the embedded store."
                    ) from exc
                delay = self.config.backoff * 2**attempt
                log.warning("Qdrant at %s unreachable, retrying in %.1fs", self.url, delay)
                time.sleep(delay)
            except UnexpectedResponse as exc:
                raise StoreError(f"Qdrant at {self.url} refused the request: {exc}") from exc
        raise AssertionError("unreachable")

    # -- collections and aliases ---------------------------------------------------------------

    def list_collections(self) -> list[str]:
        return sorted(c.name for c in self._call(self._client.get_collections).collections)

    def aliases(self) -> dict[str, str]:
        res = self._call(self._client.get_aliases)
        return {a.alias_name: a.collection_name for a in res.aliases}

    def resolve(self, name: str) -> str:
        # Aliases first: qdrant-client reports an alias as an existing collection too.
        target = self.aliases().get(name)
        if target is not None:
            return target
        if self._call(lambda: self._client.collection_exists(name)):
            return name
        raise unknown_collection(name, self.url)

    def set_alias(self, alias: str, collection: str) -> None:
        if not self._call(lambda: self._client.collection_exists(collection)):
            raise unknown_collection(collection, self.url)
        ops: list[qm.AliasOperations] = [
            qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias)),
            qm.CreateAliasOperation(
                create_alias=qm.CreateAlias(collection_name=collection, alias_name=alias)
            ),
        ]
        # One request: Qdrant applies the delete and the create atomically.
        self._call(lambda: self._client.update_collection_aliases(change_aliases_operations=ops))

    def delete_alias(self, alias: str) -> None:
        op = qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias))
        self._call(lambda: self._client.update_collection_aliases(change_aliases_operations=[op]))

    def metadata(self, name: str) -> dict[str, Any]:
        info = self._call(lambda: self._client.get_collection(self.resolve(name)))
        return dict(info.config.metadata or {})

    def set_metadata(self, name: str, values: dict[str, Any]) -> None:
        collection = self.resolve(name)
        self._call(lambda: self._client.update_collection(collection, metadata=values))

    def dimension(self, name: str) -> int:
        if name not in self._dims:
            info = self._call(lambda: self._client.get_collection(self.resolve(name)))
            params = info.config.params.vectors
            if not isinstance(params, qm.VectorParams):
                raise StoreError(f"collection {name!r} uses named vectors; Lookalike expects one.")
            self._dims[name] = int(params.size)
        return self._dims[name]

    def has_scan_copy(self, name: str) -> bool:
        return False  # a scan is answered exactly (Search.scan)

    def indexed_fields(self, name: str) -> frozenset[str]:
        if name not in self._indexed:
            info = self._call(lambda: self._client.get_collection(self.resolve(name)))
            self._indexed[name] = frozenset(info.payload_schema or {})
        return self._indexed[name]

    def ensure_collection(self, spec: CollectionSpec) -> None:
        if self.has_collection(spec.name):
            check_dimension_of(spec, self.dimension(spec.name))
            return
        self._create(spec)
        for key, kind in spec.indexes():
            self._index_field(spec.name, key, SCHEMAS[kind])

    def _create(self, spec: CollectionSpec) -> None:
        c = self.config
        settings = collection_settings(c.index, spec.dim)
        self._call(
            lambda: self._client.create_collection(
                spec.name,
                **settings,
                shard_number=c.shard_number,
                replication_factor=c.replication_factor,
                metadata=spec.metadata or None,
            )
        )

    def _index_field(self, name: str, key: str, schema: qm.PayloadSchemaType) -> None:
        self._call(lambda: self._client.create_payload_index(name, key, schema))

    def delete_collection(self, name: str) -> None:
        if name in self.aliases().values():
            raise StoreError(f"collection {name!r} is served by an alias; promote another first.")
        self._dims.pop(name, None)
        self._call(lambda: self._client.delete_collection(name))

    def copy_collection(self, source: str, target: str) -> None:
        # A server writes served collections in place, so nothing asks it for revisions.
        raise StoreError("a Qdrant server writes collections in place; nothing is copied.")

    def close_collection(self, name: str) -> None:
        """Nothing to let go of: the server holds collections, not this client."""

    # -- points ---------------------------------------------------------------------------------

    def upsert(self, name: str, batch: PointBatch) -> None:
        check_dimension(name, self.dimension(name), batch.vectors)
        points = [
            qm.PointStruct(id=pid, vector=vec.tolist(), payload=payload)
            for pid, vec, payload in zip(batch.ids, batch.vectors, batch.payloads, strict=True)
        ]
        self._call(lambda: self._client.upsert(name, points=points, wait=True))

    def delete(self, name: str, ids: Sequence[str]) -> None:
        selector = qm.PointIdsList(points=list(ids))
        self._call(lambda: self._client.delete(name, points_selector=selector, wait=True))

    def finalize(self, name: str) -> None:
        """The server indexes in the background; ``wait=True`` writes are already durable."""
        self.dimension(name)

    def close(self) -> None:
        if not self._keep_open:
            self._client.close()
