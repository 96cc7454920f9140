"""The query service: a composition root that answers consumers from the served index.

Queries by item or by examples need only the store; a query by image also needs the model that
built the collection, found through the collection's recorded model version.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import torch

from infra.checkpoints import CheckpointError, load_checkpoint
from infra.query import QueryOptions, Strategy, recommend, similar_to_item, similar_to_vector
from infra.settings import Settings
from infra.store import Hit, VectorStore, open_store
from model.backbones import CatalogNet, rebuild
from model.embed import embed_all
from model.images import decode, decode_rgb, open_image
from model.net import EmbeddingNet, build_model


class QueryService:
    """Answers "more like this" against ``name`` (default: the served alias)."""

    def __init__(self, settings: Settings, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or settings.served_alias
        self.store: VectorStore = open_store(settings)
        self._models: dict[str, EmbeddingNet | CatalogNet] = {}

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
        """Preprocessed as the collection's own items were: a Fashion-MNIST item, or a product
        photo at the catalog backbone's size."""
        model = self._model()
        if isinstance(model, CatalogNet):
            pixels = decode_rgb(open_image(image), model.image_size, model.channels)
            with torch.inference_mode():
                return model(pixels[None]).numpy()[0]
        return embed_all(model, decode(image)[None])[0]

    def _model(self) -> EmbeddingNet | CatalogNet:
        meta = self.store.metadata(self.name)
        version = str(meta.get("model_version", ""))
        if version not in self._models:
            payload = self._checkpoint(version, meta.get("checkpoint"))
            if payload.get("kind") == "catalog":
                self._models[version] = rebuild(payload["model_args"], payload["state_dict"])
            else:
                model = build_model(payload["model_args"], payload["state_dict"])
                self._models[version] = model.to(memory_format=torch.channels_last)
        return self._models[version]

    def _checkpoint(self, version: str, recorded: object) -> dict[str, Any]:
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
