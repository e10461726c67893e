from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from brigades.app import create_app
from brigades.db import make_engine
from tests.conftest import Databases, make_settings


def test_healthz_answers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_ready_on_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_503_when_schema_behind(databases: Databases) -> None:
    url = databases.empty()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
        with TestClient(create_app(make_settings(url), engine=engine)) as c:
            response = c.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["database"] == "ok"
        assert body["migration"] is None
    finally:
        engine.dispose()


def test_readyz_503_when_database_unreachable() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    engine = make_engine(url)
    with TestClient(create_app(make_settings(url), engine=engine)) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
