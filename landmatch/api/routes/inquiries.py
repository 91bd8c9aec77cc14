"""``/api/inquiries``: the public 我有意向 form — a signed form token, then the inquiry
(``landmatch.leads.inquiries``). No account needed; a signed-in cookie still needs its CSRF
token, as everywhere, and a cookie of an ended session is the public's
(``PublicWritePrincipalDep``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from landmatch.api.deps import ClientDep, PublicWritePrincipalDep, SessionDep, SettingsDep
from landmatch.api.schemas.inquiries import InquiryForm, InquiryReceived
from landmatch.api.security import json_from_our_pages
from landmatch.errors import BodyTooLarge, InvalidInput
from landmatch.leads import inquiries as svc

router = APIRouter(tags=["inquiries"])
NO_STORE = {"Cache-Control": "no-store"}


async def _body(request: Request) -> svc.InquiryIn:
    """The JSON body, read up to :data:`svc.MAX_BODY` bytes (413 beyond, before parsing)."""
    json_from_our_pages(
        request, "意向提交来自其他网站，已拒绝：请在本站地图的地块卡片上点“我有意向”"
    )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > svc.MAX_BODY:
        raise BodyTooLarge(f"提交内容过大（上限 {svc.MAX_BODY // 1024} KB）")
    chunks, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > svc.MAX_BODY:
            raise BodyTooLarge(f"提交内容过大（上限 {svc.MAX_BODY // 1024} KB）")
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("请求体应为 JSON 对象（UTF-8）") from None
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象")
    try:
        return svc.InquiryIn.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None


# Both answers are sent as built, with Cache-Control: no-store (the models document them;
# tests/api/test_contracts.py holds them to it).
@router.get(
    "/api/inquiries/form",
    summary="A form token for an inquiry (我有意向)",
    response_model=InquiryForm,
)
def form(settings: SettingsDep) -> JSONResponse:
    """What the inquiry form needs: a signed, time-stamped token (valid from
    ``min_seconds`` after issue for ``valid_hours``), the consent line and the limits."""
    body: dict[str, Any] = {
        "token": svc.issue_token(settings.secret_key),
        "consent": svc.CONSENT,
        "min_seconds": settings.inquiry_min_seconds,
        "valid_hours": settings.inquiry_form_hours,
        "limits": svc.LIMITS,
    }
    return JSONResponse(body, headers=NO_STORE)


@router.post(
    "/api/inquiries",
    status_code=201,
    summary="Send an inquiry about a public parcel (我有意向)",
    response_model=InquiryReceived,
    max_body_size=svc.MAX_BODY,  # refused before any of it is read (api/limits.py)
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": svc.InquiryIn.model_json_schema()}},
        }
    },
)
def create(
    request: Request,
    body: Annotated[svc.InquiryIn, Depends(_body)],
    session: SessionDep,
    settings: SettingsDep,
    principal: PublicWritePrincipalDep,  # an ended session's cookie: the public's inquiry
    client: ClientDep,
) -> JSONResponse:
    """Stored for the promotion team covering the parcel's zone or city; the answer is the
    confirmation only (an inquiry is internal data)."""
    svc.submit(
        session,
        body,
        secret=settings.secret_key,
        limits=svc.Limits(
            settings.inquiry_min_seconds, settings.inquiry_form_hours, settings.inquiry_max_per_hour
        ),
        address=client.address,
        user_agent=client.user_agent,
    )
    session.commit()
    return JSONResponse({"message": svc.CONFIRMATION}, status_code=201, headers=NO_STORE)
