"""The gallery's routes: the page (server-rendered: every view is a link or a form, so it works
from the keyboard and without JavaScript), the photo search, and the sign-in when a key is set."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.api.answers import hits_for
from app.api.deps import KEY_COOKIE, ServiceDep, check_key
from app.api.errors import status_of
from app.api.service import Service
from app.api.similar import upload
from app.errors import USER_ERRORS
from app.gallery.views import GalleryArgs, View, build, cards, glance, region_view
from app.queries import Photo
from catalogs.seasons import SEASONS
from infra.store import StoreError
from model.images import Box
from search.query import STRATEGIES

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
static = StaticFiles(directory=HERE / "static")
router = APIRouter(include_in_schema=False)


def _args(request: Request) -> GalleryArgs:
    q = request.query_params
    lists = GalleryArgs.list_fields()
    # An empty form field means "not set".
    raw: dict[str, Any] = {k: v for k, v in q.items() if k not in lists and v != ""}
    raw |= {k: [v for v in q.getlist(k) if v] for k in lists if k in q}
    return GalleryArgs.model_validate(raw)


def _signed_in(request: Request, service: Service) -> bool:
    try:
        check_key(request, service)
    except USER_ERRORS:
        return False
    return True


def _links(service: Service) -> list[tuple[str, str]]:
    serve = service.settings.serve
    named = [("Prefect UI", serve.prefect_ui_url), ("TensorBoard", serve.tensorboard_url)]
    return [(name, url) for name, url in named if url]


def _page(
    request: Request, service: Service, args: GalleryArgs, view: View, status: int
) -> Response:
    try:
        at_a_glance = glance(service.served(), _links(service))
        labels = at_a_glance.served.meta.labels
        fields = at_a_glance.served.meta.fields or {}
    except StoreError as exc:
        at_a_glance, labels, fields = None, [], {}
        view.error = view.error or str(exc)
        status = max(status, 503)
    context = {
        "args": args,
        "help": GalleryArgs.help(),
        "strategies": STRATEGIES,
        "season_names": ("current", *SEASONS),
        "view": view,
        "glance": at_a_glance,
        "labels": labels,
        "seasons": "season" in fields,
        "splits": ["train", "test"] if "split" in fields and labels else ["catalog"],
    }
    return templates.TemplateResponse(request, "page.html", context, status_code=status)


def _build(service: Service, args: GalleryArgs) -> View:
    with service.serving() as served:
        return build(service, served, args)


def _sign_in(request: Request, error: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": error}, status_code=401)


@router.get("/", response_class=HTMLResponse)
async def page(request: Request, service: ServiceDep) -> Response:
    if not _signed_in(request, service):
        return _sign_in(request)
    try:
        args = _args(request)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid')}"
        return _page(request, service, GalleryArgs(), View("browse", "Browse", error=message), 400)
    try:
        if args.item and args.box:
            view = await region_view(service, args, args.item, args.box)
        else:
            view = await run_in_threadpool(_build, service, args)
        return _page(request, service, args, view, 200)
    except USER_ERRORS as exc:
        return _page(
            request, service, args, View("browse", "Error", error=str(exc)), status_of(exc)
        )


@router.post("/search", response_class=HTMLResponse)
async def search(
    request: Request,
    service: ServiceDep,
    file: UploadFile = File(),  # noqa: B008
    box: str = Form(""),
) -> Response:
    """Items like an uploaded photo (or a region of it); a bad upload or region is shown in
    the page, not as a trace."""
    if not _signed_in(request, service):
        return _sign_in(request)
    args = GalleryArgs(k=_args(request).k)
    try:
        region = Box.parse(box) if box else None
        data = await upload(request, file, service.settings.serve.max_upload_mb)
        _, hits = await hits_for(service, args.query_args(), Photo(data, region))
        where = f", region {region}" if region else ""
        title = f"Like your photo ({file.filename or 'upload'}{where})"
        return _page(request, service, args, View("image", title, cards(hits)), 200)
    except USER_ERRORS as exc:
        view = View("image", "Search by photo", error=str(exc))
        return _page(request, service, args, view, status_of(exc))


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, service: ServiceDep, key: str = Form("")) -> Response:
    expected = service.settings.serve.api_key
    if expected is not None and not secrets.compare_digest(
        key.encode(), expected.get_secret_value().encode()
    ):
        return _sign_in(request, "That is not the key: ask whoever runs this service for it.")
    done = RedirectResponse("/", status_code=303)
    done.set_cookie(KEY_COOKIE, key, httponly=True, samesite="strict")
    return done
