"""A store seen through a private name prefix, so tests can share a Qdrant server with others.

Every collection and alias name a test uses is stored as ``prefix + name``; listings show only
the prefixed ones, with the prefix stripped, and error messages lose it too. A test thus sees an
empty store even on a server that holds other collections, cannot touch those, and
:func:`drop_namespace` removes exactly what it created.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

from infra.store import StoreError, VectorStore
from infra.store.base import CollectionSpec

# Methods of VectorStore whose first argument names a collection or an alias.
_NAME_FIRST = frozenset(
    {
        "has_collection",
        "delete_alias",
        "metadata",
        "set_metadata",
        "delete_collection",
        "dimension",
        "indexed_fields",
        "upsert",
        "delete",
        "finalize",
        "count",
        "vectors",
        "payloads",
        "query",
        "recommend_best_score",
        "query_points",
        "recommend_points",
        "find_ids",
        "value_counts",
    }
)


class NamespacedStore:
    """``inner`` with every name under ``prefix``; anything it does not translate is refused."""

    def __init__(self, inner: VectorStore, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix
        self.backend = inner.backend
        self.writes_while_served = inner.writes_while_served

    def qualified(self, name: str) -> str:
        """The name ``name`` has in the inner store."""
        return self.prefix + name

    def _own(self, name: str) -> bool:
        return name.startswith(self.prefix)

    def _bare(self, name: str) -> str:
        return name[len(self.prefix) :] if self._own(name) else name

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except StoreError as exc:
            raise type(exc)(str(exc).replace(self.prefix, "")) from exc

    def __getattr__(self, attr: str) -> Callable[..., Any]:
        if attr not in _NAME_FIRST:  # a new store method must be translated, not bypassed
            raise AttributeError(f"{type(self).__name__} does not translate {attr!r}")
        method = getattr(self.inner, attr)

        def call(name: str, *args: Any, **kwargs: Any) -> Any:
            with self._errors():
                return method(self.qualified(name), *args, **kwargs)

        return call

    def ensure_collection(self, spec: CollectionSpec) -> None:
        with self._errors():
            self.inner.ensure_collection(dataclasses.replace(spec, name=self.qualified(spec.name)))

    def list_collections(self) -> list[str]:
        return [self._bare(c) for c in self.inner.list_collections() if self._own(c)]

    def aliases(self) -> dict[str, str]:
        return {
            self._bare(a): self._bare(c) for a, c in self.inner.aliases().items() if self._own(a)
        }

    def set_alias(self, alias: str, collection: str) -> None:
        with self._errors():
            self.inner.set_alias(self.qualified(alias), self.qualified(collection))

    def resolve(self, name: str) -> str:
        with self._errors():
            return self._bare(self.inner.resolve(self.qualified(name)))

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def drop_namespace(store: VectorStore, prefix: str) -> list[str]:
    """Delete the aliases, then the collections, whose name starts with ``prefix``; nothing else.

    Returns what was deleted."""
    dropped = []
    for alias in store.aliases():
        if alias.startswith(prefix):
            store.delete_alias(alias)
            dropped.append(alias)
    for name in store.list_collections():
        if name.startswith(prefix):
            store.delete_collection(name)
            dropped.append(name)
    return dropped
