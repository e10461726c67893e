"""Development tools as HTML pages: the phone simulator (``/dev/telefoon``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from brigades import clock
from brigades.deps import SessionDep, SettingsDep
from brigades.dev import service as dev_service
from brigades.dev.deps import require_dev_tools
from brigades.errors import NotFound
from brigades.web import csrf
from brigades.web.templating import render

router = APIRouter(
    prefix="/dev", dependencies=[Depends(require_dev_tools)], include_in_schema=False
)

MAX_REPLY_CHARS = 1600


def _phone_url(number: str) -> str:
    return f"/dev/telefoon/{quote(number, safe='+')}"


def _checked(number: str) -> str:
    if not dev_service.is_number(number):
        raise NotFound("Dit is geen telefoonnummer in E.164 (zoals +31612345678).")
    return number


@router.get("/telefoon", response_class=HTMLResponse)
def phone_list(request: Request, session: SessionDep, nummer: str | None = None) -> Response:
    """The numbers that received console messages; the form opens any number."""
    if nummer:
        number = nummer.replace(" ", "")
        if dev_service.is_number(number):
            return RedirectResponse(_phone_url(number), status_code=303)
        return render(
            request,
            "dev/index.html",
            {
                "phones": dev_service.phones(session),
                "error": "Vul een nummer in zoals +31612345678.",
                "nummer": nummer,
            },
            status_code=422,
        )
    return render(request, "dev/index.html", {"phones": dev_service.phones(session)})


@router.get("/telefoon/{number}", response_class=HTMLResponse)
def phone(request: Request, session: SessionDep, number: str) -> Response:
    """One simulated phone: the conversation and a box to reply."""
    number = _checked(number)
    return render(
        request,
        "dev/phone.html",
        {
            "owner": dev_service.owner(session, number),
            "bubbles": dev_service.conversation(session, number),
            "phone_url": _phone_url(number),
        },
    )


@router.post("/telefoon/{number}")
def phone_reply(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    number: str,
    bericht: Annotated[str, Form(max_length=MAX_REPLY_CHARS)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Send what was typed as an SMS from this number (through inbound handling)."""
    csrf.verify(request, csrf_token)
    number = _checked(number)
    dev_service.send_from_phone(
        session, number=number, body=bericht, now=clock.now(), settings=settings
    )
    return RedirectResponse(_phone_url(number) + "#laatste", status_code=303)
