"""The API's interactive reference at /docs, from Swagger UI files that ship in a Python package
(swagger-ui-bundle-v2): no script, style or font from another origin, and the same strict policy as
every other page (its start-up script is a file of ours, not inline). ReDoc is not served: no package
ships it, and FastAPI's page loads it from a CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from rapport.web.render import SECURITY_HEADERS

router = APIRouter(include_in_schema=False)

# Swagger UI sets style attributes as it renders; scripts stay 'self' only.
DOCS_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Rapport API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/start.js"></script>
</body>
</html>
"""

START = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});\n"""


@router.get("/docs")
def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers=DOCS_HEADERS)


@router.get("/docs/start.js")
def docs_start() -> PlainTextResponse:
    return PlainTextResponse(START, media_type="text/javascript", headers=DOCS_HEADERS)


def mount_docs(app: FastAPI) -> None:
    """Serve /docs from local files (FastAPI's own /docs and /redoc must be off: `docs_url=None`)."""
    app.mount("/docs/assets", StaticFiles(directory=Path(str(swagger_ui_path))), name="docs-assets")
    app.include_router(router)
