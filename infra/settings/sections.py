"""The sections of Lookalike's settings. Each field reads ``LOOKALIKE_<FIELD>``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _absolute(v: Path | None) -> Path | None:
    return None if v is None else v.expanduser().resolve()


class Section(BaseSettings):
    """A group of settings; each field reads ``LOOKALIKE_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="LOOKALIKE_", env_file=".env", extra="ignore", validate_default=True
    )


class StoreSettings(Section):
    """The vector store: embedded (qdrant-edge) or a Qdrant server, and its index."""

    _paths = field_validator("qdrant_path", mode="after")(_absolute)

    @property
    def path(self) -> Path:
        """The embedded store's folder (``Settings`` fills it in under its home)."""
        if self.qdrant_path is None:
            raise ValueError("the embedded store has no folder: set LOOKALIKE_QDRANT_PATH")
        return self.qdrant_path

    @property
    def backend(self) -> Literal["embedded", "server"]:
        return "embedded" if self.qdrant_url is None else "server"

    qdrant_url: str | None = Field(
        default=None,
        description="Qdrant server URL (e.g. http://127.0.0.1:6333). Unset: the embedded store; "
        "':memory:' is qdrant-client's in-process mode (tests, small data).",
    )
    qdrant_api_key: SecretStr | None = Field(default=None, description="API key of the server.")
    qdrant_timeout: float = Field(default=30.0, description="Seconds per server request.")
    qdrant_path: Path | None = Field(
        default=None, description="Embedded store directory. Unset: <home>/qdrant."
    )
    qdrant_prefer_grpc: bool = Field(default=False, description="Talk gRPC to the server.")
    qdrant_retries: int = Field(
        default=3, ge=0, description="Retries (with exponential backoff) while the server is down."
    )
    qdrant_hnsw_m: int = Field(default=16, ge=0, description="HNSW edges per node.")
    qdrant_hnsw_ef_construct: int = Field(default=100, ge=4, description="HNSW ef_construct.")
    qdrant_hnsw_ef: int | None = Field(
        default=128,
        ge=1,
        description="HNSW search beam per query: recall against speed (128: recall@10 0.998 "
        "on Fashion-MNIST with a split filter).",
    )
    qdrant_payload_m: int = Field(
        default=16,
        ge=0,
        description="Extra HNSW edges per indexed payload value, so filtered queries (by label, "
        "split) walk the graph instead of scanning.",
    )
    qdrant_full_scan_threshold_kb: int | None = Field(
        default=None,
        ge=0,
        description="Below this many KB of matching (float) vectors in a segment a filtered "
        "query scans its matches exactly instead of walking the graph. Unset: 5,000, or 64,000 "
        "with quantization (32,000 points at 512-d, about 2 ms of int8 scan).",
    )
    qdrant_quantization: bool = Field(
        default=False,
        description="int8 scalar quantization (embedded store and server), rescored at query "
        "time; the embedded store then also keeps a scan copy for filters the graph answers "
        "badly (4-bit codes in RAM, half-precision vectors on disk).",
    )
    qdrant_oversampling: float = Field(
        default=2.0,
        ge=1.0,
        description="With quantization: candidates kept per hit asked, rescored with the float "
        "vectors (1.0: recall@10 0.946, 2.0: 1.000 on 100,000 clustered 512-d points).",
    )
    qdrant_shard_number: int | None = Field(
        default=None, ge=1, description="Shards per collection on a Qdrant cluster."
    )
    qdrant_replication_factor: int | None = Field(
        default=None, ge=1, description="Copies of each shard on a Qdrant cluster."
    )


class DataSettings(Section):
    """Where the items come from: Fashion-MNIST, or a catalog of product photos."""

    _paths = field_validator("data_root", "debian_data_dir", "catalog", mode="after")(_absolute)

    data_root: Path | None = Field(
        default=None,
        description="Folder with Fashion-MNIST (torchvision layout FashionMNIST/raw/, or the four "
        ".gz files). Unset: the project's data directory, then Debian's package, then download.",
    )
    debian_data_dir: Path = Field(
        default=Path("/usr/share/datasets/fashion-mnist"),
        description="Where Debian's `dataset-fashion-mnist` package puts its files.",
    )
    download: bool = Field(default=True, description="Allow torchvision to download the data set.")
    catalog: Path | None = Field(
        default=None,
        description="A product catalog to index instead of Fashion-MNIST: a folder of class "
        "folders of JPEG/PNG/WebP images, or a manifest (.csv or .jsonl; also found as "
        "manifest.csv/manifest.jsonl inside the folder).",
    )
    train_limit: int | None = Field(
        default=None, ge=1, description="Use only the first N train items (quick runs, tests)."
    )
    test_limit: int | None = Field(
        default=None, ge=1, description="Use only the first N test items (quick runs, tests)."
    )


class IndexSettings(Section):
    """How a catalog is embedded and written: shards, batches, task runner."""

    upsert_batch_size: int = Field(default=1024, ge=1, description="Points per upsert request.")
    index_shard_size: int = Field(
        default=10_000, ge=1, description="Items per embedding task (the unit of parallelism)."
    )
    task_runner: Literal["threads", "dask"] = Field(
        default="threads",
        description="Runs the embedding tasks: threads in this process, or Dask (prefect-dask).",
    )
    index_workers: int = Field(
        default=1, ge=1, description="Embedding tasks at a time (threads, or local Dask workers)."
    )
    dask_address: str | None = Field(
        default=None,
        description="An existing Dask scheduler (tcp://host:8786); unset: a local cluster. Its "
        "workers must see LOOKALIKE_HOME (shared storage) and the data.",
    )
    embed_batch_size: int | None = Field(
        default=None,
        ge=1,
        description="Images per forward pass while indexing. Unset: 64 at 224 px, more for "
        "smaller images (1,024 for Fashion-MNIST).",
    )
    loader_workers: int = Field(
        default=1,
        ge=0,
        description="DataLoader processes decoding catalog images while the model runs (0: "
        "inline; 1 measured 0.94x of the bare forward pass against 0.85x inline).",
    )


class GateSettings(Section):
    """When a new index may replace the served one."""

    min_precision_at_1: float = Field(
        default=0.85,
        ge=0,
        le=1,
        description="Quality gate: a new index below this is not promoted.",
    )
    max_regression: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Quality gate: the most precision@1 may fall below the index served now.",
    )
    catalog_min_precision_at_1: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Quality gate floor of a labelled catalog's index (leave-one-out "
        "precision@1); the regression margin applies as for Fashion-MNIST.",
    )
