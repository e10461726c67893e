"""The API keeps its OpenAPI contract: generated requests over every operation (schemathesis).

Every operation of ``/api/openapi.json`` gets generated requests, valid and invalid, sent in-process
through the ASGI transport to the test app (the test's rolled-back session). Staff operations are
called with a fresh administrator token, a volunteer's own operations with a fresh personal link, so
that most requests get past authentication. Each response must not be a server error and must be
one the document describes: a documented status, content type and body schema.

The default run keeps a small, derandomised number of examples per operation; ``-m fuzz`` runs the
larger one (``ZB_FUZZ_EXAMPLES``, default 300).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from brigades import clock
from brigades.accounts.models import Role
from brigades.app import create_app
from brigades.settings import Settings
from brigades.volunteers.access import issue_link
from tests.accounts.factories import make_support_point, make_token, make_user
from tests.conftest import make_settings
from tests.incidents.factories import make_incident
from tests.tasks.factories import make_task
from tests.vetting.factories import make_volunteer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
DEFAULT_EXAMPLES = 25
LARGE_EXAMPLES = int(os.environ.get("ZB_FUZZ_EXAMPLES", "300"))


@pytest.fixture
def api_schema(app: FastAPI, session: Session) -> schemathesis.BaseSchema:
    """The app's OpenAPI document, bound to the app for in-process calls."""
    # Objects for generated ids to find: small ids exist, so not every request is a 404.
    point = make_support_point(session, vr_code="VR09")
    incident = make_incident(session, vr_code="VR09")
    make_task(session, incident)
    make_volunteer(session, point=point, vr_code="VR09")
    session.commit()
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


@pytest.fixture
def credentials(
    session: Session, settings: Settings
) -> Callable[[schemathesis.Case], dict[str, str]]:
    """Headers for a case: a fresh token for the scheme its operation asks for."""
    admin = make_user(session, role=Role.ADMINISTRATOR, vr_codes=("VR09",))
    point = make_support_point(session, vr_code="VR09")

    def headers(case: schemathesis.Case) -> dict[str, str]:
        schemes = {
            name
            for requirement in case.operation.definition.raw.get("security", [])
            for name in requirement
        }
        if "StaffToken" in schemes:
            # Fresh each time: a generated call may revoke the token it came with.
            token, _ = make_token(session, admin, hours=8)
            return {"Authorization": f"Bearer {token}"}
        if "PersonalLink" in schemes:
            volunteer = make_volunteer(session, point=point, vr_code="VR09")
            link = issue_link(
                session,
                volunteer=volunteer,
                now=clock.now() - timedelta(seconds=1),
                settings=settings,
            )
            session.commit()
            return {"Authorization": f"Bearer {link.token}"}
        return {}

    return headers


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the app's OpenAPI document."""
    spec = create_app(make_settings("sqlite://")).openapi()  # as the `app` fixture builds it
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


OPERATIONS = _operations()


def _fuzz(
    api_schema: schemathesis.BaseSchema,
    credentials: Callable[[schemathesis.Case], dict[str, str]],
    method: str,
    path: str,
    examples: int,
) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @hypothesis_settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=cases)
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=credentials(case), checks=CHECKS)

    check()


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) >= 70 and ("GET", "/api/v1/me") in OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_keeps_its_contract(
    api_schema: schemathesis.BaseSchema,
    credentials: Callable[[schemathesis.Case], dict[str, str]],
    method: str,
    path: str,
) -> None:
    _fuzz(api_schema, credentials, method, path, DEFAULT_EXAMPLES)


@pytest.mark.fuzz
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_keeps_its_contract_at_length(
    api_schema: schemathesis.BaseSchema,
    credentials: Callable[[schemathesis.Case], dict[str, str]],
    method: str,
    path: str,
) -> None:
    _fuzz(api_schema, credentials, method, path, LARGE_EXAMPLES)
