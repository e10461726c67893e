"""API login for integrations: OAuth2 password flow, token revocation, who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response, status

from brigades import clock
from brigades.accounts import auth
from brigades.accounts.deps import CurrentAuthentication, CurrentScope
from brigades.accounts.schemas import MePublic, TokenResponse
from brigades.deps import ClientAddressDep, SessionDep, SettingsDep
from brigades.errors import InvalidInput
from brigades.volunteers.schemas import error_responses

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    summary="Log in (OAuth2 password flow)",
    response_model=TokenResponse,
    responses=error_responses(401, 413, 422, 429),
)
def token(
    session: SessionDep,
    settings: SettingsDep,
    client: ClientAddressDep,
    username: Annotated[str, Form(max_length=320, description="The account's e-mail address")],
    password: Annotated[str, Form(max_length=1024)],
    grant_type: Annotated[str, Form(pattern="^password$")] = "password",
    totp: Annotated[
        str | None,
        Form(
            max_length=16,
            description=(
                "The current 6-digit code of the authenticator app; required for "
                "administrators, coordinators and drill leads (and anyone who enrolled)."
            ),
        ),
    ] = None,
) -> TokenResponse:
    """Trade e-mail address, password (and TOTP code) for a bearer token valid for an hour.

    Form-encoded as in RFC 6749 section 4.3, with one extra field, `totp`, for accounts that
    need a second factor. Send the token as `Authorization: Bearer <token>`. Care
    organisations' integrations use an API key (issued by an administrator) instead.
    Failed attempts count towards the account's lockout, as on the website.
    """
    if grant_type != "password":
        raise InvalidInput("Alleen grant_type=password wordt ondersteund.", field="grant_type")
    issued = auth.issue_access_token(
        session,
        email=username,
        password=password,
        code=totp,
        client=client,
        now=clock.now(),
        settings=settings,
    )
    return TokenResponse(access_token=issued.token, expires_in=settings.access_token_ttl_seconds)


@router.post(
    "/revoke",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke the token of this request",
    responses=error_responses(401),
)
def revoke(session: SessionDep, found: CurrentAuthentication) -> Response:
    """The bearer token (or API key) sent with this request stops working at once."""
    if found.api_token is None:
        raise InvalidInput("Stuur het token dat je wilt intrekken als Bearer-token mee.")
    auth.revoke_own_token(session, record=found.api_token, user=found.user, now=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me",
    summary="The signed-in account and its reach",
    response_model=MePublic,
    responses=error_responses(401),
)
def me(found: CurrentAuthentication, scope: CurrentScope) -> MePublic:
    """Who the token belongs to, and which regions, buurtsteunpunten and organisation it reaches."""
    user = found.user
    assert user.id is not None
    return MePublic(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        vr_codes=None if scope.vr_codes is None else sorted(scope.vr_codes),
        support_point_ids=None
        if scope.support_point_ids is None
        else sorted(scope.support_point_ids),
        organisation_id=scope.organisation_id,
        read_only=scope.read_only,
    )
