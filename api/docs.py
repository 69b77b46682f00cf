"""The interactive API docs at ``/docs``, served from this service (Swagger UI vendored, no CDN).

FastAPI's own ``/docs`` and ``/redoc`` pages load Swagger UI and ReDoc from a public CDN (jsDelivr), which
government intranets cannot reach; :func:`install` turns both off (``docs_url=None, redoc_url=None``
on the app) and serves ``swagger-ui-dist`` from ``api/static/vendor/swagger-ui/`` instead.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

#: swagger-ui-dist 5.35.0 from the npm registry (bundle, CSS, favicon, LICENSE and NOTICE; Apache-2.0).
SWAGGER_DIR = Path(__file__).resolve().parent / "static" / "vendor" / "swagger-ui"
ASSETS = "/docs/assets"


def install(app: FastAPI) -> None:
    """Serve Swagger UI's files under ``/docs/assets`` and the docs page at ``/docs``."""
    app.mount(ASSETS, StaticFiles(directory=SWAGGER_DIR), name="swagger-ui")

    @app.get("/docs", include_in_schema=False, name="swagger_ui_html")  # the name OGC's landing page links
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} – docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            # no badge from validator.swagger.io: the page must not call out of the intranet
            swagger_ui_parameters={"validatorUrl": None},
        )
