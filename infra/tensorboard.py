"""TensorBoard writing: training curves and hyperparameters."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import torch
from torch.utils.tensorboard import SummaryWriter


class TensorBoardSink:
    """A ``ScalarSink`` that writes to a TensorBoard event file under ``log_dir``."""

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir
        self._writer = SummaryWriter(log_dir=str(log_dir))

    def scalar(self, tag: str, value: float, step: int) -> None:
        self._writer.add_scalar(tag, value, step)

    def hparams(
        self, params: dict[str, float | int | str | bool], metrics: dict[str, float]
    ) -> None:
        self._writer.add_hparams(params, metrics, run_name=".")

    def projector(
        self,
        vectors: torch.Tensor,
        images: torch.Tensor,
        metadata: list[list[str]],
        header: list[str],
        tag: str,
    ) -> None:
        """A projector entry: vectors [N, D], sprite thumbnails [N, C, H, W] in [0, 1]."""
        self._writer.add_embedding(
            vectors, metadata=metadata, metadata_header=header, label_img=images, tag=tag
        )

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TensorBoardSink:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
