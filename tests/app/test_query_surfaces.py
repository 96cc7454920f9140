"""Every query option, from every surface (the command line, the HTTP API, the gallery), down to
the request the store receives: one definition (``search.request.QueryArgs``) and one path.

The store is the real embedded one; a recording wrapper keeps each ``Search`` it is asked, and
passes it on. A new option without a sample value here fails the first test: add one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import numpy as np
import pytest

from app.api.main import create_app
from app.cli import build_parser
from app.flags import query_args_from
from app.gallery.views import GalleryArgs
from app.queries import Photo, QueryService
from app.read_commands import target_of
from infra.settings import Settings
from infra.store import Search, VectorStore
from search.request import QueryArgs
from tests.app.conftest import LABELS, running, served_collection

ITEM = "train-0"
# A value for each option that changes what the store is asked, and the options it needs beside
# it to have an effect (the MMR lambda only weighs an MMR re-rank).
SAMPLES: dict[str, tuple[Any, dict[str, Any]]] = {
    "k": (3, {}),
    "offset": (2, {}),
    "score_threshold": (-0.5, {}),
    "label": (["shirt"], {}),
    "not_label": (["Coat"], {}),
    "split": ("test", {}),
    "where": (["colour=red"], {}),
    "range": (["price=1:50"], {}),
    "max_per_label": (2, {}),
    "season": ("Winter", {}),
    "boost_season": ("summer", {}),
    "hnsw_ef": (64, {}),
    "dedup": (0.9, {}),
    "diversity": ("mmr", {}),
    "mmr_lambda": (0.3, {"diversity": "mmr"}),
}


class Recording:
    """The store, passing every call on, keeping each query's ``Search``."""

    def __init__(self, inner: VectorStore) -> None:
        self.inner = inner
        self.searches: list[Search] = []

    def query(self, name: str, vectors: np.ndarray, search: Search) -> Any:
        self.searches.append(search)
        return self.inner.query(name, vectors, search)

    def query_points(self, name: str, ids: list[str], search: Search) -> Any:
        self.searches.append(search)
        return self.inner.query_points(name, ids, search)

    def recommend_points(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.searches.append(args[-1])
        return self.inner.recommend_points(name, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The command line's home."""
    return served_collection(tmp_path_factory.mktemp("cli"))


def _given(option: str) -> dict[str, Any]:
    value, needs = SAMPLES[option]
    return {**needs, option: value}


def _flags(values: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, value in values.items():
        flag = "-k" if name == "k" else "--" + name.replace("_", "-")
        for v in value if isinstance(value, list) else [value]:
            out += [flag, str(v)]
    return out


def _expected(args: QueryArgs, settings: Settings) -> Search:
    """What the store should be asked, computed from the definition itself (queried by the
    item's point, which the store leaves out of its own answer)."""
    serve = settings.serve
    opts = args.options(LABELS, serve.hemisphere, serve.season_boost)
    return opts.search()


def _cli(values: dict[str, Any], settings: Settings) -> Search:
    args = build_parser().parse_args(["similar", ITEM, *_flags(values)])
    with QueryService(settings) as service:
        recording = Recording(service.store)
        service.store = cast(VectorStore, recording)
        service.ask(target_of(args), query_args_from(args))
    return recording.searches[-1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Recording]]:
    """The API and the gallery on loopback, over the same collection in a home of their own (an
    embedded collection is open in one process at a time)."""
    app = create_app(served_collection(tmp_path_factory.mktemp("api")))
    with running(app) as url:
        queries = app.state.service.queries
        recording = Recording(queries.store)
        queries.store = recording
        yield url, recording


def _http(path: str, values: dict[str, Any], app_url: tuple[str, Recording]) -> Search:
    url, recording = app_url
    before = len(recording.searches)
    r = httpx.get(url + path, params=values, timeout=30)
    assert r.status_code == 200, r.text
    assert len(recording.searches) == before + 1, "one store query per request"
    return recording.searches[-1]


def test_every_option_has_a_sample_and_a_flag() -> None:
    assert set(SAMPLES) == set(QueryArgs.model_fields)
    assert set(QueryArgs.model_fields) <= set(GalleryArgs.model_fields)
    every = {name: value for name, (value, _) in SAMPLES.items()}
    parsed = build_parser().parse_args(["similar", ITEM, *_flags(every)])
    assert query_args_from(parsed) == QueryArgs(**every)


@pytest.mark.parametrize("option", list(SAMPLES))
def test_each_option_reaches_the_store_from_every_surface(
    option: str, settings: Settings, app_url: tuple[str, Recording]
) -> None:
    values = _given(option)
    without = {k: v for k, v in values.items() if k != option}
    expected = _expected(QueryArgs(**values), settings)
    assert expected != _expected(QueryArgs(**without), settings), f"{option} changes nothing"

    assert _cli(values, settings) == expected
    assert _http(f"/v1/similar/items/{ITEM}", values, app_url) == expected

    gallery = GalleryArgs(item=ITEM, **values)
    shown = _http("/", {"item": ITEM, **values}, app_url)
    assert shown == _expected(gallery.query_args(), settings)
    plain = _expected(GalleryArgs(item=ITEM, **without).query_args(), settings)
    assert shown != plain, f"the gallery drops {option}"


def test_a_bad_option_names_itself_on_every_surface(
    settings: Settings, app_url: tuple[str, Recording], capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    assert main(["similar", ITEM, "--home", str(settings.home), "--hnsw-ef", "0"]) == 1
    err = capsys.readouterr().err
    assert "--hnsw-ef" in err and "Traceback" not in err
    url, _ = app_url
    r = httpx.get(f"{url}/v1/similar/items/{ITEM}", params={"hnsw_ef": 0}, timeout=30)
    assert r.status_code == 422 and "hnsw_ef" in r.json()["error"]
    r = httpx.get(url + "/", params={"item": ITEM, "hnsw_ef": 0}, timeout=30)
    assert r.status_code == 400 and "hnsw_ef" in r.text


def test_a_photo_query_goes_the_same_way(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"read when embedded")
    args = build_parser().parse_args(["similar", "--image", str(tmp_path / "x.png"), "-k", "4"])
    assert target_of(args) == Photo(tmp_path / "x.png")
    assert query_args_from(args) == QueryArgs(k=4)
