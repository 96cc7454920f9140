from __future__ import annotations

from collections.abc import Callable

from app.cli import build_parser, overrides_from
from flows.deployments import build_deployments
from infra.settings import Settings


def test_serve_builds_two_scheduled_deployments(make_settings: Callable[..., Settings]) -> None:
    args = build_parser().parse_args(["serve", "--pipeline-cron", "*/5 * * * *", "--epochs", "2"])
    overrides = overrides_from(args)
    assert overrides == {"pipeline_cron": "*/5 * * * *", "epochs": 2}
    settings = make_settings(**overrides)
    nightly, reindex = build_deployments(settings, overrides)
    assert nightly.name == "nightly" and reindex.name == "reindex"
    assert nightly.schedules[0].schedule.cron == "*/5 * * * *"
    assert reindex.schedules[0].schedule.cron == settings.serve.index_cron
    assert nightly.parameters == {"overrides": overrides}
    assert nightly.concurrency_limit == 1 and reindex.concurrency_limit == 1
