"""The query service: a composition root that answers consumers from the served index.

Queries by item or by examples need only the store, so they import neither torch nor Prefect;
a query by image also needs the model that built the collection, found through the
collection's recorded model version, and loads torch then.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from infra.settings import Settings
from infra.store import Hit, VectorStore, open_store
from search.query import QueryOptions, Strategy, recommend, similar_to_item, similar_to_vector

if TYPE_CHECKING:
    from model.backbones import Embedder


class QueryService:
    """Answers "more like this" against ``name`` (default: the served alias)."""

    def __init__(self, settings: Settings, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or settings.served_alias
        self.store: VectorStore = open_store(settings.store)
        self._models: dict[str, Embedder] = {}

    def labels(self) -> list[str]:
        """The label names of the served collection (Fashion-MNIST's for older collections)."""
        from model.labels import LABEL_NAMES

        return list(self.store.metadata(self.name).get("labels") or LABEL_NAMES)

    def similar_item(self, item_id: str, opts: QueryOptions | None = None) -> list[Hit]:
        return similar_to_item(self.store, self.name, item_id, opts)

    def recommend(
        self,
        positive: Sequence[str],
        negative: Sequence[str] = (),
        strategy: Strategy = "average_vector",
        opts: QueryOptions | None = None,
    ) -> list[Hit]:
        return recommend(self.store, self.name, positive, negative, strategy, opts)

    def similar_image(self, image: bytes | Path, opts: QueryOptions | None = None) -> list[Hit]:
        """Items like an uploaded PNG/JPEG, embedded with the model that built the index."""
        vector = self.embed_image(image)
        return similar_to_vector(self.store, self.name, vector, opts or QueryOptions())

    def embed_image(self, image: bytes | Path) -> np.ndarray:
        return embed(self.model_for(self.name), self.kind_of(self.name), image)

    def kind_of(self, name: str) -> str | None:
        kind = self.store.metadata(name).get("kind")
        return None if kind is None else str(kind)

    def model_for(self, name: str) -> Embedder:
        """The model that built collection (or alias) ``name``, loaded once per version."""
        from model.backbones import from_checkpoint

        meta = self.store.metadata(name)
        version = str(meta.get("model_version", ""))
        if version not in self._models:
            payload = self._checkpoint(version, meta.get("checkpoint"))
            self._models[version] = from_checkpoint(payload)
        return self._models[version]

    def _checkpoint(self, version: str, recorded: object) -> dict[str, Any]:
        from infra.checkpoints import CheckpointError, load_checkpoint

        candidates = [Path(str(recorded))] if recorded else []
        candidates.append(self.settings.checkpoint_dir / f"{version}.pt")
        for path in candidates:
            if path.is_file():
                payload = load_checkpoint(path)
                if payload["model_version"] == version:
                    return payload
        raise CheckpointError(
            f"the model {version!r} that built {self.name!r} is not in {candidates[-1].parent}: "
            "copy its checkpoint there (or set LOOKALIKE_HOME) to query by image."
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> QueryService:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def embed(model: Embedder, kind: str | None, image: bytes | Path) -> np.ndarray:
    """An image preprocessed as the collection's own items were: a Fashion-MNIST item (grey, on
    black), or a product photo at the backbone's size (letterboxed on white)."""
    import torch

    from model.images import decode, decode_rgb, open_image

    if model.name == "fmnist-cnn" and kind in ("fashion-mnist", None):
        pixels = decode(image)[None]
    else:
        pixels = decode_rgb(open_image(image), model.image_size, model.channels)
    with torch.inference_mode():
        vector: np.ndarray = model(pixels[None]).numpy()[0]
    return vector
