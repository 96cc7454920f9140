"""The query service: a composition root that answers consumers from the served index.

Queries by item or by examples need only the store, so they import neither torch nor Prefect;
a query by image also needs the model that built the collection, found through the
collection's recorded model version, and loads torch then.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from infra.settings import Settings
from infra.store import Hit, VectorStore, open_store
from search.metadata import CollectionMeta, read_meta
from search.options import QueryOptions
from search.query import ByVector, Target, ask
from search.request import QueryArgs

if TYPE_CHECKING:
    import torch

    from model.backbones import Embedder


class QueryService:
    """Answers "more like this" against ``name`` (default: the served alias)."""

    def __init__(self, settings: Settings, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or settings.served_alias
        # Queries only read: many readers share a served collection (the API's workers, this).
        self.store: VectorStore = open_store(settings.store, read_only=True)
        self._models: dict[str, Embedder] = {}
        # One lock per model version: concurrent first photos wait for one load, and loading
        # one model holds up nothing else (neither the store nor another version's load).
        self._loading: dict[str, threading.Lock] = {}
        self._loading_lock = threading.Lock()

    def ask(self, target: Target | bytes | Path, args: QueryArgs | None = None) -> list[Hit]:
        """The hits for ``target`` (a photo is embedded with the model that built the index),
        with the consumer's options resolved against the collection."""
        meta = read_meta(self.store, self.name)
        opts = resolve(args or QueryArgs(), self.settings, meta)
        if isinstance(target, bytes | Path):
            target = ByVector(self.embed_image(target))
        return ask(self.store, self.name, target, opts, meta)

    def embed_image(self, image: bytes | Path) -> np.ndarray:
        return embed(self.model_for(self.name), self.kind_of(self.name), image)

    def kind_of(self, name: str) -> str | None:
        kind = read_meta(self.store, name).kind
        return None if kind is None else str(kind)

    def model_for(self, name: str) -> Embedder:
        """The model that built collection (or alias) ``name``, loaded once per version."""
        return self.model_of(read_meta(self.store, name), name)

    def model_of(self, meta: CollectionMeta, name: str) -> Embedder:
        """The model that built the collection ``meta`` describes, loaded once per version. It
        asks the store nothing, so the API loads it outside the store's lock."""
        from model.backbones import from_checkpoint

        version = meta.model_version
        with self._loading_lock:
            loading = self._loading.setdefault(version, threading.Lock())
        with loading:
            if version not in self._models:
                payload = self._checkpoint(version, meta.checkpoint, name)
                self._models[version] = from_checkpoint(payload)
        return self._models[version]

    def _checkpoint(self, version: str, recorded: object, name: str) -> dict[str, Any]:
        from infra.checkpoints import CheckpointError, load_checkpoint

        candidates = [Path(str(recorded))] if recorded else []
        candidates.append(self.settings.checkpoint_dir / f"{version}.pt")
        for path in candidates:
            if path.is_file():
                payload = load_checkpoint(path)
                if payload["model_version"] == version:
                    return payload
        raise CheckpointError(
            f"the model {version!r} that built {name!r} is not in {candidates[-1].parent}: "
            "copy its checkpoint there (or set LOOKALIKE_HOME) to query by image or explain "
            "a match."
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> QueryService:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def resolve(args: QueryArgs, settings: Settings, meta: CollectionMeta) -> QueryOptions:
    """The store-level options of a consumer's query on a collection: its label names (older
    collections: Fashion-MNIST's), the hemisphere and season boost of the settings."""
    from model.labels import LABEL_NAMES

    labels = meta.labels or list(LABEL_NAMES)
    return args.options(labels, settings.serve.hemisphere, settings.serve.season_boost)


def preprocess(model: Embedder, kind: str | None, image: bytes | Path) -> torch.Tensor:
    """An image as uint8 [C, S, S], preprocessed as the collection's own items were (by its
    source's reader: a Fashion-MNIST item, grey on black, or a product photo letterboxed at the
    backbone's size)."""
    from catalogs.readers import reader_for_kind

    return reader_for_kind(kind).preprocess_upload(model, image)


def embed(model: Embedder, kind: str | None, image: bytes | Path) -> np.ndarray:
    """An image's vector, preprocessed as the collection's own items were."""
    import torch

    pixels = preprocess(model, kind, image)
    with torch.inference_mode():
        vector: np.ndarray = model(pixels[None]).numpy()[0]
    return vector
