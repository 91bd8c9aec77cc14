"""The public 我有意向 form: its token and limits, and the confirmation."""

from __future__ import annotations

from pydantic import Field

from landmatch.api.schemas.common import Contract


class InquiryForm(Contract):
    token: str = Field(description="signed and time-stamped; send it back with the inquiry")
    consent: str = Field(description="the consent line shown above the button")
    min_seconds: int = Field(description="the token is valid this long after issue …")
    valid_hours: int = Field(description="… for this many hours")
    limits: dict[str, int] = Field(description="each field's maximum length")


class InquiryReceived(Contract):
    message: str = Field(description="the confirmation (中文)")
