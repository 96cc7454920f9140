"""docker-compose.yml and .env.example, checked as files (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from infra.settings import SECTIONS, Settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = re.compile(r"KEY|PASSWORD|SECRET|TOKEN", re.IGNORECASE)


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_services_have_healthchecks_and_pinned_images() -> None:
    services = _compose()["services"]
    assert {"qdrant", "postgres", "prefect-server", "worker", "api", "tensorboard"} <= set(services)
    assert services["worker"]["command"] == "lookalike serve"  # the schedules, not a loop
    for name, svc in services.items():
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        image = svc.get("image")
        if image:
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image}"


def test_state_lives_in_named_volumes() -> None:
    compose = _compose()
    volumes = set(compose["volumes"])
    for name in ("qdrant", "postgres"):
        mounts = compose["services"][name]["volumes"]
        assert any(m.split(":")[0] in volumes for m in mounts), f"{name} has no named volume"


def test_prefect_server_uses_postgres() -> None:
    env = _compose()["services"]["prefect-server"]["environment"]
    assert env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")


def test_no_secret_is_inlined() -> None:
    for name, svc in _compose()["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            text = str(value)
            if SECRET.search(key):
                assert text.startswith("${"), f"{name}.{key} inlines a secret"
            assert "password" not in text.lower() or "${" in text


def test_env_example_lists_every_variable() -> None:
    example = (ROOT / ".env.example").read_text()
    referenced = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    for var in referenced:
        assert re.search(rf"^#?\s*{var}=", example, re.M), f"{var} missing from .env.example"
    sections = [Settings, *SECTIONS.values()]
    for field in [n for m in sections for n, f in m.model_fields.items() if n not in SECTIONS]:
        var = f"LOOKALIKE_{field.upper()}"
        assert re.search(rf"^#?\s*{var}=", example, re.M), f"{var} missing from .env.example"


def test_prefect_yaml_entrypoints_exist() -> None:
    import importlib

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    for deployment in spec["deployments"]:
        path, _, name = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert hasattr(getattr(module, name), "to_deployment"), deployment["entrypoint"]
        assert deployment["concurrency_limit"] == 1
        assert deployment["work_pool"]["name"] == "lookalike-process"
