"""``/p/{link}``: a 选址建议书 opened by an investor through its signed, expiring link (no sign-in;
public fields only; each opening recorded for the team). See ``landmatch.match.proposals``."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from landmatch.api.deps import SessionDep, SettingsDep
from landmatch.api.routes.workbench.common import templates
from landmatch.errors import NotFound
from landmatch.maps import printed
from landmatch.maps.brochure import html_to_pdf
from landmatch.match import proposals

router = APIRouter(include_in_schema=False)


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
        data = proposals.open_public(
            session,
            token,
            secret=settings.secret_key,
            stale_after_days=settings.stale_after_days,
            user_agent=request.headers.get("user-agent"),
        )
    except NotFound as exc:
        html = templates().get_template("proposal.html").render(error=exc.message)
        return HTMLResponse(html, status_code=404, headers={"Cache-Control": "no-store"})
    html = printed.proposal_html(data)
    with request.app.state.slots.take("pdf"):  # 429 when every PDF slot is busy
        pdf = html_to_pdf(html)
    session.commit()
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Cache-Control": "no-store",
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
    headers = {"Cache-Control": "no-store"}  # the app sends Referrer-Policy: same-origin
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
        return HTMLResponse(html, status_code=404, headers=headers)
    session.commit()
    html = (
        templates()
        .get_template("proposal.html")
        .render(**data, error=None, pdf_url=f"/p/{quote(token)}.pdf")
    )
    return HTMLResponse(html, headers=headers)
