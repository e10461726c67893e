"""Administrators' API: accounts, care organisations, API keys. Everything is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from sqlmodel import Session

from brigades import clock
from brigades.accounts import reset, service
from brigades.accounts.deps import AdminUser
from brigades.accounts.models import ApiToken, CareOrganisation, Role, User
from brigades.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiTokenPublic,
    OrganisationCreate,
    OrganisationPublic,
    ResetLinkIssued,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from brigades.deps import SessionDep, SettingsDep
from brigades.volunteers.schemas import MAX_ID, error_responses

router = APIRouter(prefix="/api/v1", tags=["administration"])

UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]


def user_public(session: Session, user: User) -> UserPublic:
    """An account as the API shows it."""
    assert user.id is not None
    assignments = service.assignments_of(session, user)
    return UserPublic(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        active=user.active,
        has_phone=user.phone is not None,
        two_factor_enabled=user.totp_enabled_at is not None,
        locked_until=user.locked_until,
        vr_codes=list(assignments.vr_codes),
        support_point_ids=list(assignments.support_point_ids),
        organisation_id=assignments.organisation_id,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def token_public(record: ApiToken) -> ApiTokenPublic:
    """A token as listed (never the token itself)."""
    return ApiTokenPublic.model_validate(record, from_attributes=True)


def organisation_public(organisation: CareOrganisation) -> OrganisationPublic:
    """A care organisation as the API shows it."""
    return OrganisationPublic.model_validate(organisation, from_attributes=True)


@router.get(
    "/users",
    summary="List accounts",
    response_model=list[UserPublic],
    responses=error_responses(401, 403),
)
def list_users(session: SessionDep, admin: AdminUser, role: Role | None = None) -> list[UserPublic]:
    """Every staff account (optionally of one role), by e-mail address."""
    return [user_public(session, u) for u in service.list_users(session, role=role)]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    response_model=UserPublic,
    responses=error_responses(401, 403, 409, 413, 422),
)
def create_user(session: SessionDep, admin: AdminUser, data: UserCreate) -> UserPublic:
    """A new account with its role and assignments; the password must meet the rules."""
    user = service.create_user(session, data=data, actor=service.actor_for(admin), now=clock.now())
    return user_public(session, user)


@router.get(
    "/users/{user_id}",
    summary="One account",
    response_model=UserPublic,
    responses=error_responses(401, 403, 404),
)
def get_user(session: SessionDep, admin: AdminUser, user_id: UserId) -> UserPublic:
    """One account with its assignments."""
    return user_public(session, service.get_user(session, user_id))


@router.patch(
    "/users/{user_id}",
    summary="Change an account",
    response_model=UserPublic,
    responses=error_responses(401, 403, 404, 413, 422),
)
def update_user(
    session: SessionDep, admin: AdminUser, user_id: UserId, data: UserUpdate
) -> UserPublic:
    """Change name, phone, role, assignments or `active` (false ends all sessions and tokens)."""
    user = service.update_user(
        session,
        user=service.get_user(session, user_id),
        data=data,
        actor=service.actor_for(admin),
        now=clock.now(),
    )
    return user_public(session, user)


@router.post(
    "/users/{user_id}/reset-link",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a one-time password reset link",
    response_model=ResetLinkIssued,
    responses=error_responses(401, 403, 404),
)
def reset_link(
    session: SessionDep, settings: SettingsDep, admin: AdminUser, user_id: UserId
) -> ResetLinkIssued:
    """A link valid for an hour, to hand to the user; only its hash is stored."""
    url, expires_at = reset.issue_link(
        session,
        user=service.get_user(session, user_id),
        actor=service.actor_for(admin),
        now=clock.now(),
        settings=settings,
    )
    return ResetLinkIssued(url=url, expires_at=expires_at)


@router.post(
    "/users/{user_id}/revoke-access",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End every session and token of an account",
    responses=error_responses(401, 403, 404),
)
def revoke_access(session: SessionDep, admin: AdminUser, user_id: UserId) -> None:
    """All browser sessions, access tokens and API keys of the account stop working."""
    service.revoke_access(
        session,
        user=service.get_user(session, user_id),
        actor=service.actor_for(admin),
        now=clock.now(),
    )


@router.get(
    "/users/{user_id}/tokens",
    summary="An account's tokens and API keys",
    response_model=list[ApiTokenPublic],
    responses=error_responses(401, 403, 404),
)
def list_tokens(session: SessionDep, admin: AdminUser, user_id: UserId) -> list[ApiTokenPublic]:
    """Newest first; only the first characters of each token are shown."""
    user = service.get_user(session, user_id)
    return [token_public(t) for t in service.tokens_of(session, user=user)]


@router.post(
    "/users/{user_id}/api-keys",
    status_code=status.HTTP_201_CREATED,
    summary="Issue an API key (care organisations)",
    response_model=ApiKeyIssued,
    responses=error_responses(401, 403, 404, 413, 422),
)
def create_api_key(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    user_id: UserId,
    data: ApiKeyCreate,
) -> ApiKeyIssued:
    """A named, expiring key (`zb_live_…`), shown once in this answer."""
    issued = service.create_api_key(
        session,
        user=service.get_user(session, user_id),
        name=data.name,
        valid_days=data.valid_days or settings.api_key_ttl_days,
        actor=service.actor_for(admin),
        now=clock.now(),
    )
    return ApiKeyIssued(**token_public(issued.record).model_dump(), key=issued.token)


@router.post(
    "/tokens/{token_id}/revoke",
    summary="Revoke a token or API key",
    response_model=ApiTokenPublic,
    responses=error_responses(401, 403, 404),
)
def revoke_token(session: SessionDep, admin: AdminUser, token_id: TokenId) -> ApiTokenPublic:
    """The token stops working at once (revoking twice is harmless)."""
    record = service.revoke_token(
        session,
        record=service.get_token(session, token_id),
        actor=service.actor_for(admin),
        now=clock.now(),
    )
    return token_public(record)


@router.get(
    "/organisations",
    summary="List care organisations",
    response_model=list[OrganisationPublic],
    responses=error_responses(401, 403),
)
def list_organisations(session: SessionDep, admin: AdminUser) -> list[OrganisationPublic]:
    """Every care organisation, by name."""
    return [organisation_public(o) for o in service.list_organisations(session)]


@router.post(
    "/organisations",
    status_code=status.HTTP_201_CREATED,
    summary="Register a care organisation",
    response_model=OrganisationPublic,
    responses=error_responses(401, 403, 409, 413, 422),
)
def create_organisation(
    session: SessionDep, admin: AdminUser, data: OrganisationCreate
) -> OrganisationPublic:
    """A zorgaanbieder in a Veiligheidsregio; its users are created with role care_organisation."""
    organisation = service.create_organisation(
        session, data=data, actor=service.actor_for(admin), now=clock.now()
    )
    return organisation_public(organisation)
