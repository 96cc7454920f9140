"""Model tasks: the model that embeds a source, trained or a catalog's backbone."""

from __future__ import annotations

from prefect import task

from training.catalog_models import catalog_model as _catalog_model
from training.runs import train_fashion_mnist

train_model = task(name="train-model", task_run_name="train-{settings.dataset}")(
    train_fashion_mnist
)
catalog_model = task(name="catalog-model", task_run_name="model-{settings.embedder.backbone}")(
    _catalog_model
)
