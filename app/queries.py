"""The query service: a composition root that answers consumers from the served index.

Queries by item or by examples need only the store, so they import neither torch nor Prefect;
a query by image also needs the model that built the collection, found through the
collection's recorded model version, and loads torch then.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from catalogs.products import product_of
from infra.settings import Settings
from infra.store import Condition, Hit, VectorStore, open_store
from search import products
from search.metadata import CollectionMeta, read_meta
from search.options import QueryOptions
from search.query import ByVector, Target, ask, item_payloads
from search.request import QueryArgs

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from model.backbones import Embedder
    from model.images import Box


@dataclass(frozen=True)
class Photo:
    """A consumer's photo, or a region of it (``box``)."""

    image: bytes | Path
    box: Box | None = None


@dataclass(frozen=True)
class Region:
    """A region of a stored item's picture: the items most like that part of it (the item
    itself left out, as a query by item leaves it out)."""

    item_id: str
    box: Box


Asked = Target | Photo | Region


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

    def ask(self, target: Asked | bytes | Path, args: QueryArgs | None = None) -> list[Hit]:
        """The hits for ``target`` (a photo or a region is embedded with the model that built
        the index), with the consumer's options resolved against the collection."""
        meta = read_meta(self.store, self.name)
        opts = resolve(args or QueryArgs(), self.settings, meta)
        if isinstance(target, bytes | Path):
            target = Photo(target)
        if isinstance(target, Photo | Region):
            source = image_source(self.store, self.name, target)
            vector = embed_target(self.model_for(self.name), meta, target, source)
            opts = leaving_out(opts, source, meta)
            target = ByVector(vector)
        return ask(self.store, self.name, target, opts, meta)

    def model_for(self, name: str) -> Embedder:
        """The model that built collection (or alias) ``name``, loaded once per version."""
        return self.model_of(read_meta(self.store, name), name)

    def model_of(self, meta: CollectionMeta, name: str) -> Embedder:
        """The model that built the collection ``meta`` describes, loaded once per version. It
        asks the store nothing, so the API loads it outside the store's lock."""
        import torch

        from model.backbones import from_checkpoint
        from model.precision import chosen

        version = meta.model_version
        with self._loading_lock:
            loading = self._loading.setdefault(version, threading.Lock())
        with loading:
            if version not in self._models:
                payload = self._checkpoint(version, meta.checkpoint, name)
                model = from_checkpoint(payload)
                # This machine's choice, as its index flow makes it (the vectors agree to
                # cosine 0.999 with the other precision's).
                cpu = torch.device("cpu")
                model.bf16 = chosen(self.settings.train.precision, cpu, model.bf16_pays).bf16
                self._models[version] = model
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


def image_source(
    store: VectorStore, name: str, target: Photo | Region
) -> bytes | Path | dict[str, Any]:
    """What a photo or region query's picture is read from: the photo, or the stored item's
    payload (the store's part, looked up before the model's)."""
    if isinstance(target, Photo):
        return target.image
    return item_payloads(store, name, [target.item_id])[0]


def embed_target(
    model: Embedder,
    meta: CollectionMeta,
    target: Photo | Region,
    source: bytes | Path | dict[str, Any],
) -> np.ndarray:
    """The vector of a photo or a region of a stored item's picture (``source``: see
    :func:`image_source`), by ``model``, preprocessed as the collection's items were."""
    if isinstance(source, dict):
        from catalogs.scan import stored_image

        return embed(model, meta.kind, stored_image(meta.kind, meta.root, source), target.box)
    return embed(model, meta.kind, source, target.box)


def leaving_out(
    opts: QueryOptions, source: bytes | Path | dict[str, Any], meta: CollectionMeta
) -> QueryOptions:
    """A region of an item (``source`` its payload) asks for other items, as a query by that
    item does: other products, where the collection's products have several photos."""
    if not isinstance(source, dict):
        return opts
    if meta.photos_per_product > 1:
        return products.leaving_out(opts, [product_of(source)])
    return dataclasses.replace(
        opts, where=(*opts.where, Condition("item_id", none_of=(str(source["item_id"]),)))
    )


def preprocess(
    model: Embedder, kind: str | None, image: bytes | Path | Image.Image, box: Box | None = None
) -> torch.Tensor:
    """An image (a region of it, with ``box``) as uint8 [C, S, S], preprocessed as the
    collection's own items were (by its source's reader: a Fashion-MNIST item, grey on black,
    or a product photo letterboxed at the backbone's size)."""
    from catalogs.readers import reader_for_kind
    from model.images import open_image

    img = open_image(image) if isinstance(image, bytes | Path) else image
    return reader_for_kind(kind).preprocess_upload(model, box.crop(img) if box else img)


def embed(
    model: Embedder, kind: str | None, image: bytes | Path | Image.Image, box: Box | None = None
) -> np.ndarray:
    """An image's vector (of a region of it, with ``box``), preprocessed as the collection's
    own items were."""
    import torch

    pixels = preprocess(model, kind, image, box)
    with torch.inference_mode():
        vector: np.ndarray = model(pixels[None]).numpy()[0]
    return vector
