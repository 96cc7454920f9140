"""The sections of Lookalike's settings. Each field reads ``LOOKALIKE_<FIELD>``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from model.configs import EmbeddingNetConfig, FineTuneConfig, TrainConfig


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
        description="int8 scalar quantization (embedded store and server), rescored at query time.",
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


class TrainSettings(Section):
    """Training the Fashion-MNIST network: the recipe and its hyperparameters."""

    recipe: Literal["auto", "fast", "default", "amx", "gpu"] = Field(
        default="auto",
        description="Named training preset (fast: CI slice; default: a CPU; amx: a CPU with "
        "AMX training in bf16, 8 epochs; gpu: wider, augmented, more epochs). auto: gpu when "
        "training on CUDA, amx on such a CPU, else default. Settings given explicitly win "
        "over the preset.",
    )
    precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto",
        description="Training and embedding precision. auto: bf16 autocast where the hardware "
        "computes bf16 (a CPU with AMX or AVX-512 BF16, a GPU with bf16), else fp32.",
    )
    resume: bool = Field(
        default=True,
        description="Continue an interrupted training run from its last epoch checkpoint.",
    )
    embedding_dim: int = Field(
        default=EmbeddingNetConfig.embedding_dim, ge=2, le=4096, description="Embedding dimension."
    )
    width: int = Field(
        default=EmbeddingNetConfig.width, ge=4, description="Channels of the first conv stage."
    )
    epochs: int = Field(default=TrainConfig.epochs, ge=1, description="Training epochs.")
    batch_size: int = Field(
        default=TrainConfig.batch_size, ge=2, description="Training batch size."
    )
    lr: float = Field(
        default=TrainConfig.lr, gt=0, description="Peak learning rate (one-cycle schedule)."
    )
    weight_decay: float = Field(
        default=TrainConfig.weight_decay, ge=0, description="AdamW weight decay."
    )
    temperature: float = Field(
        default=1 / TrainConfig.scale,
        gt=0,
        description="Softmax temperature of the cosine classifier.",
    )
    margin: float = Field(
        default=TrainConfig.margin,
        ge=0,
        lt=1,
        description="CosFace additive margin on the true class cosine.",
    )
    label_smoothing: float = Field(
        default=TrainConfig.label_smoothing, ge=0, lt=1, description="Label smoothing."
    )
    augment: bool = Field(
        default=TrainConfig.augment,
        description="Random crop and flip while training (pays off only past ~10 epochs).",
    )
    seed: int = Field(
        default=TrainConfig.seed, description="Random seed for weights, batches and augmentation."
    )
    device: str = Field(default="auto", description="'auto' (CUDA if present), 'cpu' or 'cuda'.")
    num_threads: int | None = Field(default=None, ge=1, description="Torch CPU threads.")
    projector_sample: int = Field(
        default=2000, ge=0, description="Test items in TensorBoard's embedding projector (0: none)."
    )
    retrain: bool = Field(
        default=False,
        description="Train even when a checkpoint of the same config and data exists.",
    )


class BackboneSettings(Section):
    """The model of a product catalog: a backbone off the shelf or fine-tuned."""

    backbone: str = Field(
        default="resnet18",
        description="Catalog backbone: resnet18, resnet50 (RGB, ImageNet-normalised) or "
        "fmnist-cnn.",
    )
    weights: str = Field(
        default="imagenet",
        description="Catalog backbone weights: imagenet (downloaded once by torchvision), none "
        "(random init from the seed), or the path of a local weights file.",
    )
    catalog_mode: Literal["off-the-shelf", "fine-tuned"] = Field(
        default="off-the-shelf",
        description="off-the-shelf: pooled backbone features, no training; fine-tuned: a "
        "metric-learning head trained on the catalog labels with the last block unfrozen.",
    )
    image_size: int | None = Field(
        default=None, ge=16, description="Catalog image side in pixels. Unset: the backbone's."
    )
    head_dim: int = Field(default=128, ge=2, description="Embedding size of a fine-tuned head.")
    finetune_epochs: int = Field(
        default=FineTuneConfig.epochs, ge=1, description="Fine-tuning epochs."
    )
    finetune_lr: float = Field(
        default=FineTuneConfig.lr, gt=0, description="Fine-tuning peak learning rate."
    )
    finetune_batch_size: int = Field(
        default=FineTuneConfig.batch_size, ge=2, description="Fine-tuning batch size."
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


class ServeSettings(Section):
    """Answering queries and running on a schedule."""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, v: Any) -> Any:
        """``a,b`` or a JSON list from the environment; an origin never ends in ``/``."""
        if isinstance(v, str):
            v = json.loads(v) if v.strip().startswith("[") else v.split(",")
        if isinstance(v, list | tuple):
            v = [o.strip().rstrip("/") if isinstance(o, str) else o for o in v]
            return [o for o in v if o != ""]
        return v

    season_boost: float = Field(
        default=0.1,
        ge=0,
        description="Score added to in-season items when a query boosts a season.",
    )
    hemisphere: Literal["north", "south"] = Field(
        default="north", description="Which hemisphere's calendar 'the current season' follows."
    )
    pipeline_cron: str = Field(
        default="0 2 * * *", description="When `lookalike serve` runs the pipeline (cron)."
    )
    index_cron: str = Field(
        default="0 * * * *", description="When `lookalike serve` re-indexes the catalog (cron)."
    )
    api_host: str = Field(default="127.0.0.1", description="Address `lookalike api` listens on.")
    api_port: int = Field(default=8080, ge=1, le=65535, description="Port of `lookalike api`.")
    api_key: SecretStr | None = Field(
        default=None,
        description="When set, every API request but /healthz must send it (X-API-Key header "
        "or Bearer token). Never logged.",
    )
    max_upload_mb: float = Field(
        default=10.0, gt=0, description="The largest image the API accepts, in megabytes."
    )
    photo_workers: int = Field(
        default=2,
        ge=1,
        description="Threads that decode and embed uploaded photos, beside the event loop.",
    )
    photo_queue: int = Field(
        default=8,
        ge=0,
        description="Photos that may wait for a photo thread; the next one is answered 503 "
        "with Retry-After rather than piled up.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins whose browser pages may call the API (CORS), comma-separated or a "
        "JSON list, e.g. https://shop.example.com (* for any). Empty: no CORS headers.",
    )
    api_access_log: bool = Field(
        default=True,
        description="Log a line per request (uvicorn's access log); /v1/metrics counts them "
        "either way.",
    )
    prefect_ui_url: str | None = Field(
        default=None, description="The Prefect UI, linked from the gallery when set."
    )
    tensorboard_url: str | None = Field(
        default=None, description="TensorBoard (`lookalike tensorboard`), linked from the gallery."
    )


class ExportSettings(Section):
    """The neighbour lists written after every run that passes the gate (``lookalike export``
    writes them on demand)."""

    export_after_run: bool = Field(
        default=True, description="Write every item's look-alikes once a run passes the gate."
    )
    export_k: int = Field(default=20, ge=1, le=1000, description="Neighbours per item.")
    export_where: str = Field(
        default="",
        description="Payload equalities a neighbour must pass, KEY=VALUE, comma-separated "
        "(e.g. in_stock=true).",
    )
    export_same: str = Field(
        default="",
        description="Payload fields a neighbour must share with its item, comma-separated "
        "(e.g. split).",
    )
    export_max_per_label: int | None = Field(
        default=None, ge=1, description="At most this many neighbours per label, as queries cap."
    )
    export_dedup: float | None = Field(
        default=None, gt=0, le=1, description="Collapse neighbours this alike, as queries do."
    )
    export_formats: str = Field(
        default="",
        description="Also write these beside the Parquet file, comma-separated: csv, jsonl.",
    )
    export_hnsw_ef: int | None = Field(
        default=64,
        ge=1,
        description="Search beam of the export's self-queries (unset: the store's). 64: "
        "recall@20 0.9994 against an exact join of 70,000 items, 27.2 s against 29.9 at 128.",
    )

    @staticmethod
    def split(text: str) -> list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]
