"""API shapes of a care organisation's own settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CallbackUpdate(BaseModel):
    """Where task changes are sent; null or "" removes the callback."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    callback_url: str | None = Field(
        default=None,
        max_length=500,
        examples=["https://planning.zorgorganisatie.nl/zorgbrigade/terugmelding"],
    )


class OrganisationSelf(BaseModel):
    """The caller's care organisation, with the key its callbacks are signed with."""

    id: int
    name: str
    vr_code: str
    callback_url: str | None
    signing_secret: str = Field(
        description="HMAC-SHA256 key: X-Zorgbrigade-Signature is sha256=<hex of "
        "HMAC(key, '<X-Zorgbrigade-Timestamp>.<body>')>"
    )
