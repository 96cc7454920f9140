"""The run report: metrics to four places, counts whole, and the copies said in one line."""

from __future__ import annotations

from catalogs.base import SourceInfo
from infra.checkpoints import ModelRef
from search.baselines import COPIES, COPY_COSINE
from search.promotion import Decision
from search.reports import RunSummary, copies_line, markdown, shown


def _summary(metrics: dict[str, float]) -> RunSummary:
    source = SourceInfo("fashion-mnist", "/data", "/data", "/scan/items.jsonl", 70000, [], "f")
    model = ModelRef(
        "/ckpt/m.pt",
        "m",
        64,
        1.0,
        "cpu",
        "",
        precision="bf16 (the CPU has amx_bf16)",
        recipe="amx, 8 epochs",
    )
    decision = Decision(True, "passes", None)
    return RunSummary(source, model, "fm-m", 70000, 0, metrics, decision, "fm", [])


def test_counts_read_whole_and_the_copies_have_their_line() -> None:
    metrics = {"precision_at_1": 0.92271, "pixels_precision_at_1": 0.8576, COPIES: 54.0}
    assert shown(COPIES, 54.0) == "54" and shown("precision_at_1", 0.92271) == "0.9227"
    text = markdown(_summary(metrics), {}, "x.png", "")
    assert f"| {COPIES} | 54 |" in text and "54.0000" not in text
    line = copies_line(metrics)
    assert line is not None and line in text
    assert line.startswith("copies: 54 test items") and f"cosine >= {COPY_COSINE}" in line


def test_no_copies_line_where_nothing_was_counted() -> None:
    metrics = {"precision_at_1": 0.9}
    assert copies_line(metrics) is None
    assert "copies:" not in markdown(_summary(metrics), {}, "x.png", "")


def test_the_report_says_what_the_model_was_trained_in() -> None:
    text = markdown(_summary({"precision_at_1": 0.9}), {}, "x.png", "")
    assert "trained in bf16 (the CPU has amx_bf16), recipe amx, 8 epochs" in text
