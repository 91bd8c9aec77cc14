"""``/p/{link}``: a 选址建议书 opened by an investor through its signed, expiring link (no sign-in;
public fields only; each opening recorded for the team). See ``landmatch.match.proposals``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from landmatch.api.deps import SessionDep, SettingsDep
from landmatch.api.routes.workbench.common import attachment, templates
from landmatch.errors import NotFound
from landmatch.maps import printed
from landmatch.maps.brochure import html_to_pdf
from landmatch.match import proposals
from landmatch.settings import Settings

router = APIRouter(include_in_schema=False)


NO_STORE = {"Cache-Control": "no-store"}  # the app sends Referrer-Policy: same-origin


Link = Annotated[str, Path(max_length=120, description="the proposal's signed link")]


def _proposal(
    request: Request,
    session: Session,
    settings: Settings,
    token: str,
    answer: Callable[[dict[str, Any]], Response],
) -> Response:
    """The proposal behind ``token`` as ``answer`` makes it, its opening recorded; an unknown
    or expired link is the proposal page's 404."""
    try:
        data = proposals.open_public(
            session,
            token,
            secret=settings.secret_key,
            stale_after_days=settings.stale_after_days,
            user_agent=request.headers.get("user-agent"),
        )
    except NotFound as exc:
        html = templates().get_template("proposal.html").render(error=exc.message)
        return HTMLResponse(html, status_code=404, headers=NO_STORE)
    out = answer(data)
    session.commit()
    return out


# Before /p/{token}, which would otherwise take "….pdf" as a token.
@router.get("/p/{token}.pdf")
def proposal_pdf(
    request: Request, session: SessionDep, settings: SettingsDep, token: Link
) -> Response:
    """The 选址建议书 as a PDF (the brochures' print path); an opening like the page's."""

    def pdf(data: dict[str, Any]) -> Response:
        with request.app.state.slots.take("pdf"):  # 429 when every PDF slot is busy
            body = html_to_pdf(printed.proposal_html(data))
        disposition = attachment(data["title"] + ".pdf", "proposal.pdf")
        headers = NO_STORE | {"Content-Disposition": disposition}
        return Response(body, media_type="application/pdf", headers=headers)

    return _proposal(request, session, settings, token, pdf)


@router.get("/p/{token}", response_class=HTMLResponse)
def proposal_page(
    request: Request, session: SessionDep, settings: SettingsDep, token: Link
) -> Response:
    def page(data: dict[str, Any]) -> Response:
        template = templates().get_template("proposal.html")
        html = template.render(
            **data, **printed.proposal_dates(data), error=None, pdf_url=f"/p/{quote(token)}.pdf"
        )
        return HTMLResponse(html, headers=NO_STORE)

    return _proposal(request, session, settings, token, page)
