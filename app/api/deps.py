"""Dependencies the routers share: the service, the settings, the API key check."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request

from app.api.errors import UnauthorizedError
from app.api.service import Service


# The dependencies are ``async def`` although they never wait: FastAPI runs a plain ``def``
# dependency in its thread pool, a thread hop per dependency and request (on 2 cores a
# similar-by-item request paid ~0.5 ms for them).
async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


KEY_COOKIE = "lookalike_key"  # the gallery's sign-in, so its <img> requests carry the key


async def require_key(request: Request, service: ServiceDep) -> None:
    """The dependency of every keyed route: :func:`check_key`."""
    check_key(request, service)


def check_key(request: Request, service: Service) -> None:
    """With LOOKALIKE_API_KEY set, the request must carry it: the X-API-Key header, a Bearer
    token, or the gallery's cookie."""
    key = service.settings.serve.api_key
    if key is None:
        return
    given = request.headers.get("x-api-key") or ""
    auth = request.headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        given = given or auth[7:].strip()
    given = given or request.cookies.get(KEY_COOKIE, "")
    if not given:
        raise UnauthorizedError("this API needs a key: send it as the X-API-Key header.")
    if not secrets.compare_digest(given.encode(), key.get_secret_value().encode()):
        raise UnauthorizedError("wrong API key: send the one LOOKALIKE_API_KEY holds.")
