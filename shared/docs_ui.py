"""Swagger UI (``/docs``) and ReDoc (``/redoc``) served from the package, not from a CDN.

The JavaScript and CSS are the files ``fastapi-offline`` ships (Swagger UI's bundle, ReDoc's
standalone build), served by the service itself under ``/docs-assets``; the pages name nothing
outside the service (no fonts, no validator badge), so they work on a machine without network.
Swagger UI's *Authorize* takes a bearer token (``uzdik token …`` or the dev sign-in of
``uzdik serve``) and keeps it across reloads.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"
BEARER = "bearer"
CACHE = "public, max-age=86400"
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
OFFLINE = {b"https://cdn.redoc.ly/redoc/logo-mini.svg": b"docs-assets/favicon.png"}
SWAGGER_PARAMETERS: dict[str, Any] = {
    "persistAuthorization": True,
    "validatorUrl": None,  # the default badge asks a public validator
    "tryItOutEnabled": True,
}


def install_docs(app: FastAPI) -> None:
    """Replace FastAPI's CDN pages of ``app`` by the packaged ones (same URLs)."""
    from shared.edge import principal

    ours = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in ours]
    app.docs_url = app.redoc_url = None
    openapi = app.openapi_url or "/openapi.json"

    @app.get(ASSETS_URL + "/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        # a route, not a Mount: the file is found whatever the root path (uzdik serve mounts
        # each service under its name)
        found = _asset(name)
        if found is None:
            raise StarletteHTTPException(404, f"no docs asset {name!r}")
        content, media_type = found
        return Response(content, media_type=media_type, headers={"Cache-Control": CACHE})

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi,
            title=f"{app.title}: Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + openapi,
            title=f"{app.title}: ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    generate = app.openapi

    def with_bearer() -> dict[str, Any]:
        """The bearer scheme on every operation that reads the token (``principal``), unless
        the document already declares a security scheme."""
        document = generate()
        schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
        if schemes:
            return document
        schemes[BEARER] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A token from `uzdik token` or the dev sign-in of `uzdik serve`.",
        }
        for route in _api_routes(app):
            if _reads(route.dependant, principal):
                for method in route.methods or ():
                    operation = document["paths"].get(route.path_format, {}).get(method.lower())
                    if operation is not None:
                        operation.setdefault("security", [{BEARER: []}])
        return document

    app.openapi = with_bearer  # type: ignore[method-assign]


@functools.cache
def _asset(name: str) -> tuple[bytes, str] | None:
    """A packaged file, read once. ReDoc's build shows Redocly's logo from their CDN: that one
    address is pointed at our own favicon, so the page asks nothing of the network."""
    if name not in MEDIA_TYPES:
        return None
    content = (ASSETS / name).read_bytes()
    for outside, ours in OFFLINE.items():
        content = content.replace(outside, ours)
    return content, MEDIA_TYPES[name]


def _api_routes(app: FastAPI) -> list[Any]:
    """The app's API routes as the OpenAPI generator sees them (FastAPI >= 0.160 includes
    routers lazily: ``iter_route_contexts`` gives each with its effective path)."""
    contexts = getattr(routing, "iter_route_contexts", None)
    found = list(contexts(app.routes)) if contexts is not None else list(app.routes)
    return [r for r in found if isinstance(getattr(r, "original_route", r), APIRoute)]


def _reads(dependant: Dependant, call: Any) -> bool:
    return dependant.call is call or any(_reads(d, call) for d in dependant.dependencies)
