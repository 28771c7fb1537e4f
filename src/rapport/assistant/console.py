"""The console's assistant page: which intent model runs (MiniLM, or the lexical fallback where the
model stack is not installed), how it was trained and calibrated, a box to try a question, a
button to train again (admins), and the latest conversations handed to a person."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from rapport.access.model import Permission
from rapport.assistant import deploy, service
from rapport.assistant.embed import minilm_available
from rapport.assistant.store import counts, recent_handoffs
from rapport.kernel.errors import DomainError
from rapport.web.panels import NavEntry
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console/assistant", include_in_schema=False)
NAV = (NavEntry("assistant", "/console/assistant", "Assistant", Permission.KB_WRITE, order=62),)
Writer = Annotated[Session, Depends(requires(Permission.KB_WRITE))]
Trainer = Annotated[Session, Depends(requires(Permission.TOKENS_MANAGE))]  # admins only: minutes of CPU


def _page(request: Request, extra: dict[str, Any]) -> Response:
    settings = request.app.state.settings
    model = deploy.deployed(settings)
    with request.app.state.db.read() as conn:
        handoffs, by_status = recent_handoffs(conn), counts(conn)
    context = {
        "title": "Assistant",
        "current": "assistant",
        "model": model,
        "stack": minilm_available(),
        "path": deploy.model_path(settings),
        "training": deploy.training_state(settings),
        "handoffs": handoffs,
        "counts": by_status,
        **extra,
    }
    return render(request, "console/assistant/index.html", context)


@router.get("")
def index(request: Request, _session: Writer, trained: str = "") -> Response:
    return _page(request, {"started": trained == "started"})


@router.post("/try")
def try_question(
    request: Request, session: Writer, csrf: Annotated[str, Form()] = "", text: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, session, csrf)
    try:
        result = service.classify(request.app.state.db, text)
    except DomainError as exc:
        raise PageError(exc.status, "Cannot classify", exc.message) from None
    return _page(request, {"tried": text, "result": result})


@router.post("/train")
def train(request: Request, session: Trainer, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, session, csrf)
    if deploy.training_state(request.app.state.settings).get("state") != "running":
        deploy.train_in_background(request.app.state.db)
    return redirect("/console/assistant?trained=started")
