"""``/p/{link}``: a 选址建议书 opened by an investor through its signed, expiring link (no sign-in;
public fields only; each opening recorded for the team). See ``landmatch.match.proposals``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from landmatch.api.deps import SessionDep, SettingsDep
from landmatch.api.routes.workbench.common import templates
from landmatch.errors import NotFound
from landmatch.maps import printed
from landmatch.maps.brochure import html_to_pdf
from landmatch.match import proposals
from landmatch.settings import Settings

router = APIRouter(include_in_schema=False)


NO_STORE = {"Cache-Control": "no-store"}  # the app sends Referrer-Policy: same-origin


def _open(request: Request, session: Session, settings: Settings, token: str) -> dict[str, Any]:
    """The proposal behind ``token``, its opening recorded (committed by the caller)."""
    return proposals.open_public(
        session,
        token,
        secret=settings.secret_key,
        stale_after_days=settings.stale_after_days,
        user_agent=request.headers.get("user-agent"),
    )


def _not_found(exc: NotFound) -> HTMLResponse:
    html = templates().get_template("proposal.html").render(error=exc.message)
    return HTMLResponse(html, status_code=404, headers=NO_STORE)


# Before /p/{token}, which would otherwise take "….pdf" as a token.
@router.get("/p/{token}.pdf")
def proposal_pdf(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: str = Path(max_length=120),
) -> Response:
    """The 选址建议书 as a PDF (the brochures' print path); an opening like the page's."""
    try:
        data = _open(request, session, settings, token)
    except NotFound as exc:
        return _not_found(exc)
    html = printed.proposal_html(data)
    with request.app.state.slots.take("pdf"):  # 429 when every PDF slot is busy
        pdf = html_to_pdf(html)
    session.commit()
    return Response(
        pdf,
        media_type="application/pdf",
        headers=NO_STORE
        | {
            "Content-Disposition": "attachment; filename=proposal.pdf; "
            f"filename*=UTF-8''{quote(data['title'] + '.pdf')}",
        },
    )


@router.get("/p/{token}", response_class=HTMLResponse)
def proposal_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: str = Path(max_length=120),
) -> HTMLResponse:
    try:
        data = _open(request, session, settings, token)
    except NotFound as exc:
        return _not_found(exc)
    session.commit()
    html = (
        templates()
        .get_template("proposal.html")
        .render(**data, error=None, pdf_url=f"/p/{quote(token)}.pdf")
    )
    return HTMLResponse(html, headers=NO_STORE)
