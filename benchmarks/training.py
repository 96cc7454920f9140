"""Training on the machine in front of you: recipe x precision -> epochs, seconds, images/s,
precision@1 and MAP@R, each row the whole pipeline's own run (its model stage, its evaluation
on the full test set), in a fresh home so nothing is reused.

Run: `python -m benchmarks.training [--recipe auto] [--precision fp32 auto]`. The rows run
one after the other on this machine; each names its CPU and the flags that decide the precision
(model/precision.py). The table keeps other machines' rows: a run replaces only its own.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, write
from flows.pipeline import pipeline
from infra.checkpoints import load_checkpoint
from infra.settings import Settings
from infra.store import open_store
from model.precision import cpu_info
from search.metadata import read_meta
from tasks.baselines import embedding_table


def one_run(recipe: str, precision: str, home: Path) -> dict[str, Any]:
    settings = Settings(
        home=home, recipe=recipe, precision=precision, progress=False, export_after_run=False
    )
    summary = pipeline(settings)
    payload = load_checkpoint(Path(summary.model.checkpoint))
    history = payload["history"]
    # MAP@R of the very vectors the run indexed (the run itself reports precision@1 and
    # recall@10 only), by the same exact search.
    learned = embedding_table.fn(settings, summary.collection, summary.source)["learned"]
    with open_store(settings.store, read_only=True) as store:
        embedded_in = read_meta(store, summary.collection).embed_precision
    return {
        # What ran: recipe auto becomes the machine's own (training.runs.machine_recipe).
        "recipe": payload["config"]["recipe"],
        "asked": precision,
        "trained in": payload["precision"]["name"],
        "embedded in": embedded_in,
        "epochs": len(history),
        "train_s": float(payload["train_seconds"]),
        "model_stage_s": summary.seconds["model"],
        "images_per_s": sum(h["images_per_second"] for h in history) / len(history),
        "precision_at_1": summary.metrics["precision_at_1"],
        "map_at_r": learned["map_at_r"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipe", nargs="+", default=["auto"])
    parser.add_argument("--precision", nargs="+", default=["fp32", "auto"])
    args = parser.parse_args()
    cpu, flags = cpu_info()
    rows = earlier_rows()
    for recipe in args.recipe:
        for precision in args.precision:
            with tempfile.TemporaryDirectory() as tmp:
                row = one_run(recipe, precision, Path(tmp))
            row |= {"cpu": cpu, "cpu flags": " ".join(sorted(flags)) or "-"}
            rows = [r for r in rows if _key(r) != _key(row)] + [row]
            print(row, flush=True)
    print(write("training", rows, {"recipes": args.recipe}).read_text())


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["recipe"], row["asked"], row["cpu"], row["cpu flags"]


def earlier_rows() -> list[dict[str, Any]]:
    """The table's rows from earlier runs, other machines' included: a new run replaces only
    its own recipe, precision and machine."""
    path = RESULTS / "training.json"
    if not path.is_file():
        return []
    rows: list[dict[str, Any]] = json.loads(path.read_text())["rows"]
    return [r for r in rows if "asked" in r]


if __name__ == "__main__":
    main()
