"""All configuration in one place, in sections: ``LOOKALIKE_*`` environment variables, a ``.env``
file, or keyword overrides from the command line.

Every variable keeps its flat name (``LOOKALIKE_EPOCHS``, ``LOOKALIKE_QDRANT_URL``) and flat
keyword overrides route to their section (``Settings(epochs=2)``), while code takes the section
it needs (``settings.train``, ``settings.store``...). Model hyperparameters take their defaults
from the dataclasses next to the models (``model/configs.py``), so each default lives in one
place. ``python -m infra.settings`` writes ``.env.example``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.settings.sections import (
    DataSettings,
    GateSettings,
    IndexSettings,
    Section,
    StoreSettings,
)
from infra.settings.serving import ExportSettings, ServeSettings
from infra.settings.training import BackboneSettings, TrainSettings

# Named training recipes. A preset fills only the settings a user did not set.
PRESETS: dict[str, dict[str, Any]] = {
    # CI and smoke tests: seconds, on a slice.
    "fast": {"epochs": 1, "width": 16, "train_limit": 3000, "test_limit": 500},
    # A 2-core CPU without AMX, or in fp32: 6 epochs, 2 to 7 minutes; precision@1 ~0.92.
    "default": {},
    # A CPU with AMX training in bf16: 8 epochs take the time 6 take elsewhere (2,900 images/s
    # on 2 cores), and gave precision@1 +0.005 and MAP@R +0.02 over 6 with two seeds each.
    "amx": {"epochs": 8},
    # A GPU: twice as wide, augmented (random crop, flip, erasing), 40 epochs in batches of
    # 512. On a 2-core CPU a run like it (20 epochs, width 40) took 47 min for +0.001.
    "gpu": {"epochs": 40, "width": 64, "augment": True, "batch_size": 512},
    # auto: the machine's preset, chosen when training starts (training.runs.machine_recipe).
    "auto": {},
}

SECTIONS: dict[str, type[Section]] = {
    "data": DataSettings,
    "store": StoreSettings,
    "index": IndexSettings,
    "train": TrainSettings,
    "embedder": BackboneSettings,
    "gate": GateSettings,
    "serve": ServeSettings,
    "export": ExportSettings,
}
# Which section each flat name belongs to.
_SECTION_OF = {name: s for s, cls in SECTIONS.items() for name in cls.model_fields}


def _fill(sections: dict[str, Any], recipe: str) -> None:
    """Apply preset ``recipe`` to ``sections`` (by name) where a setting was not given."""
    for key, value in PRESETS[recipe].items():
        part: Section = sections[_SECTION_OF[key]]
        if key not in part.model_fields_set:
            sections[_SECTION_OF[key]] = part.model_copy(update={key: value})


def _default_home() -> Path:
    return Path.home() / ".local" / "share" / "lookalike"


class Settings(BaseSettings):
    """Lookalike's settings: where things live, what the catalog is called, and the sections."""

    model_config = SettingsConfigDict(
        env_prefix="LOOKALIKE_", env_file=".env", extra="ignore", validate_default=True
    )

    home: Path = Field(
        default_factory=_default_home,
        description="Root for data, checkpoints, runs and the embedded Qdrant store.",
    )
    dataset: str = Field(
        default="fashion-mnist",
        description="Catalog name: prefix of each versioned collection, part of every point id.",
    )
    alias: str | None = Field(
        default=None,
        description="The stable name consumers query. Unset: lookalike-<dataset>.",
    )
    progress: bool = Field(default=True, description="Show progress bars.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of Lookalike's own loggers."
    )
    data: DataSettings = Field(default_factory=DataSettings, description="Where items come from.")
    store: StoreSettings = Field(default_factory=StoreSettings, description="The vector store.")
    index: IndexSettings = Field(default_factory=IndexSettings, description="Indexing.")
    train: TrainSettings = Field(default_factory=TrainSettings, description="Training.")
    embedder: BackboneSettings = Field(
        default_factory=BackboneSettings, description="A catalog's model."
    )
    gate: GateSettings = Field(default_factory=GateSettings, description="The quality gate.")
    serve: ServeSettings = Field(default_factory=ServeSettings, description="Serving.")
    export: ExportSettings = Field(
        default_factory=ExportSettings, description="The neighbour export."
    )

    def __init__(self, **values: Any) -> None:
        # Flat names are accepted (routed to their sections by ``_route``).
        super().__init__(**values)

    @model_validator(mode="before")
    @classmethod
    def _route(cls, data: Any) -> Any:
        """Flat names to their sections; each section reads its own variables, then the
        recipe fills what neither a variable nor an override set."""
        if not isinstance(data, dict):
            return data
        flat = {k: data.pop(k) for k in list(data) if k in _SECTION_OF}
        for name, section in SECTIONS.items():
            given = data.get(name)
            if isinstance(given, Section):
                data[name] = given.model_copy(update=_own(flat, name))
            else:
                data[name] = section(**{**(given or {}), **_own(flat, name)})
        _fill(data, data["train"].recipe)
        return data

    def for_training_on(self, machine_recipe: str) -> Settings:
        """These settings as a training run takes them on a machine whose own recipe is
        ``machine_recipe``: ``recipe=auto`` becomes it, filling only what was not set, and
        the recipe recorded is the one that ran."""
        if self.train.recipe != "auto":
            return self
        sections: dict[str, Any] = {name: getattr(self, name) for name in SECTIONS}
        _fill(sections, machine_recipe)
        sections["train"] = sections["train"].model_copy(update={"recipe": machine_recipe})
        return self.model_copy(update=sections)

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        # A catalog indexes under its own name unless one is given: never into fashion-mnist.
        if self.data.catalog is not None and "dataset" not in self.model_fields_set:
            path = self.data.catalog
            stem = path.parent.name if path.is_file() and path.stem == "manifest" else path.stem
            self.dataset = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "catalog"
        if self.store.qdrant_path is None:
            self.store = self.store.model_copy(update={"qdrant_path": self.home / "qdrant"})
        return self

    @field_validator("home", mode="after")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    def with_(self, **flat: Any) -> Settings:
        """A copy with some settings changed, by their flat names."""
        current = {name: getattr(self, name) for name in type(self).model_fields}
        for key in [k for k in flat if k in type(self).model_fields]:
            current[key] = flat.pop(key)
        if "home" in current and "qdrant_path" not in flat:
            current["store"] = current["store"].model_copy(update={"qdrant_path": None})
        return Settings(**current, **flat)

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def checkpoint_dir(self) -> Path:
        return self.home / "checkpoints"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    @property
    def lock_dir(self) -> Path:
        return self.home / "locks"

    @property
    def served_alias(self) -> str:
        return self.alias or f"lookalike-{self.dataset}"

    def collection_for(self, model_version: str) -> str:
        """Each model version indexes into a collection of its own."""
        return f"{self.dataset}-{model_version}"

    def public(self) -> dict[str, Any]:
        """Every setting, flat, as JSON values, secrets left out (for checkpoints, reports)."""
        out = self.model_dump(mode="json", exclude=set(SECTIONS))
        for name in SECTIONS:
            secrets = {"qdrant_api_key", "api_key"}
            out |= getattr(self, name).model_dump(mode="json", exclude=secrets)
        return out


def _own(flat: dict[str, Any], section: str) -> dict[str, Any]:
    return {k: v for k, v in flat.items() if _SECTION_OF[k] == section}


def env_example() -> str:
    """``.env.example``'s text: every variable, section by section, with its default."""
    from infra.settings.example import render

    return render(Settings, SECTIONS)


def write_env_example() -> Path:
    path = Path(__file__).resolve().parents[2] / ".env.example"
    path.write_text(env_example())
    return path
