"""The packages point one way: app -> flows -> tasks -> {training, search, catalogs} ->
{model, infra}. ``model/`` is plain PyTorch and imports nothing else of the project; ``infra/``
takes nothing from above it but the model's torch-free configs. Every import counts, also those
inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "flows", "tasks", "training", "search", "catalogs", "model", "infra")
BELOW = {"model": set(), "infra": set()}
BELOW["catalogs"] = {"model", "infra"}
BELOW["search"] = BELOW["catalogs"] | {"catalogs"}
BELOW["training"] = BELOW["catalogs"] | {"catalogs"}
BELOW["tasks"] = BELOW["search"] | {"search", "training"}
BELOW["flows"] = BELOW["tasks"] | {"tasks"}
BELOW["app"] = BELOW["flows"] | {"flows"}
# The one way up: settings hold the model's hyperparameter dataclasses, which import no torch.
EXCEPTIONS = {("infra", "model.configs")}
# Flows only wire tasks; the model knows nothing of Prefect or Qdrant.
FORBIDDEN = {
    "flows": ("torch", "qdrant_client", "qdrant_edge"),
    "model": ("prefect", "qdrant_client", "qdrant_edge", "fastapi"),
}


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_down_only(package: str) -> None:
    wrong = []
    for path in modules(package):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top not in PACKAGES or top == package or top in BELOW[package]:
                continue
            if any(package == p and name.startswith(m) for p, m in EXCEPTIONS):
                continue
            wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_keep_their_hands_off(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(package)
        for name in imports_of(path)
        if name.split(".")[0] in FORBIDDEN[package]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_layers_form_no_circle() -> None:
    for package, below in BELOW.items():
        assert package not in below
        for lower in below:
            assert package not in BELOW[lower], f"{package} <-> {lower}"
