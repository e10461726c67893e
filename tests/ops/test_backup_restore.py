"""scripts/backup.sh and scripts/restore.sh: a database written through the application, dumped,
restored into a new database, and served again by the application from the copy."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, text
from sqlmodel import Session

from brigades import clock
from brigades.accounts.deps import STAFF_COOKIE
from brigades.accounts.models import Role
from brigades.app import create_app
from brigades.db import make_engine, session_scope
from brigades.health.service import head_revision
from tests.accounts.factories import make_token, make_user, start_session
from tests.conftest import PG_SERVER, TEST_DB, TEST_SECRET, Databases, make_settings
from tests.ops.deployfiles import ROOT
from tests.support.live_server import live_server
from tests.volunteers.factories import api_volunteer, bearer, make_support_point

pytestmark = pytest.mark.skipif(
    TEST_DB != "postgresql",
    reason="backups are pg_dump/pg_restore archives of PostgreSQL; run with ZB_TEST_DB=postgresql",
)

BACKUP = ROOT / "scripts" / "backup.sh"
RESTORE = ROOT / "scripts" / "restore.sh"
VOLUNTEERS = {"06 31000001": "Fenna Terugzet", "06 31000002": "Joris Dumpel", "06 31000003": "Aya"}
TASKS = 3

NewDatabase = Callable[[], str]


@pytest.fixture(scope="module")
def new_database(databases: Databases) -> Iterator[NewDatabase]:
    """Makes empty PostgreSQL databases (no schema) and drops them after the module."""
    created: list[str] = []

    def _make() -> str:
        name = f"{databases.prefix}_ops_{len(created)}"
        with databases.admin().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return PG_SERVER + name

    yield _make
    with databases.admin().connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(args: list[str], database_url: str | None, **env: str) -> subprocess.CompletedProcess[str]:
    """A command with the application's database setting (or none), from the repository root."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("PG", "ZB_DATABASE", "DATABASE"))
    }
    if database_url is not None:
        clean["DATABASE_URL"] = database_url
    return subprocess.run(
        args,
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def zorgbrigade(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """The ``zorgbrigade`` command of this checkout."""
    return run([sys.executable, "-c", "from brigades.cli import main; main()", *args], database_url)


@dataclass(frozen=True)
class Written:
    """What the application wrote before the backup, and how to ask for it again."""

    source_url: str
    dump: Path
    staff_token: str
    staff_cookie: str
    volunteer_token: str
    incident_id: int
    task_ids: list[int]


def _task_body(number: int) -> dict[str, Any]:
    start = clock.now() + timedelta(hours=2 + number)
    return {
        "type_code": "boodschappen",
        "postcode": "3512jk",
        "house_number": str(10 + number),
        "street": "Oudegracht",
        "city": "Utrecht",
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(),
        "duration_minutes": 45,
        "slots": 2,
        "priority": "high",
        "description": f"Boodschappen halen, adres {number}.",
        "external_reference": f"ZA-{number}",
    }


@pytest.fixture(scope="module")
def written(new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory) -> Written:
    """A database migrated by ``zorgbrigade db upgrade`` and filled through the API, backed up."""
    source_url = new_database()
    migrated = zorgbrigade("db", "upgrade", database_url=source_url)
    assert migrated.returncode == 0, migrated.stderr

    engine = make_engine(source_url, pool_size=2)
    with session_scope(engine) as session:
        make_support_point(session, name="Buurtsteunpunt Uithof", postcode="3584 CS")
    with Session(engine, expire_on_commit=False) as session:
        coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
        staff_token = make_token(session, coordinator, hours=4)[0]
        staff_cookie = start_session(session, coordinator)
        app = create_app(make_settings(source_url), engine=engine)
        with TestClient(app, base_url="http://testserver") as client:
            tokens = [
                api_volunteer(client, session, phone=phone, name=name)
                for phone, name in VOLUNTEERS.items()
            ]
            staff = bearer(staff_token)
            opened = client.post(
                "/api/v1/incidents",
                json={"name": "Griepgolf Utrecht-stad", "vr_code": "VR09"},
                headers=staff,
            )
            assert opened.status_code == 201, opened.text
            incident_id = int(opened.json()["id"])
            task_ids = []
            for number in range(TASKS):
                created = client.post(
                    f"/api/v1/incidents/{incident_id}/tasks", json=_task_body(number), headers=staff
                )
                assert created.status_code == 201, created.text
                task_ids.append(int(created.json()["id"]))
    engine.dispose()

    directory = tmp_path_factory.mktemp("backups")
    backed_up = run([str(BACKUP), str(directory)], source_url)
    assert backed_up.returncode == 0, backed_up.stderr
    dump = Path(backed_up.stdout.strip())
    return Written(
        source_url, dump, staff_token, staff_cookie, tokens[0], incident_id, sorted(task_ids)
    )


def test_the_backup_is_a_timestamped_private_custom_format_dump(written: Written) -> None:
    name = written.source_url.rsplit("/", 1)[1]
    assert re.fullmatch(rf"zorgbrigade-{name}-\d{{8}}T\d{{6}}Z\.dump", written.dump.name)
    assert written.dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert stat.S_IMODE(written.dump.stat().st_mode) == 0o600  # it holds personal data
    assert [p.name for p in written.dump.parent.iterdir()] == [written.dump.name]  # no leftovers


def test_a_backup_never_overwrites_a_file(written: Written) -> None:
    before = written.dump.read_bytes()
    again = run([str(BACKUP), "--output", str(written.dump)], written.source_url)
    assert again.returncode != 0
    assert "never overwrites" in again.stderr
    assert written.dump.read_bytes() == before
    assert len(list(written.dump.parent.iterdir())) == 1


def test_backup_and_restore_work_from_libpq_environment_variables(
    written: Written, new_database: NewDatabase, tmp_path: Path
) -> None:
    source = make_url(written.source_url)
    libpq = {
        "PGHOST": source.host or "127.0.0.1",
        "PGPORT": str(source.port or 5432),
        "PGUSER": source.username or "postgres",
        "PGDATABASE": source.database or "",
    }
    backed_up = run([str(BACKUP), str(tmp_path)], None, **libpq)
    assert backed_up.returncode == 0, backed_up.stderr
    dump = Path(backed_up.stdout.strip())
    assert dump.parent == tmp_path and f"-{source.database}-" in dump.name

    target = make_url(new_database())
    restored = run(
        [str(RESTORE), str(dump)], None, **{**libpq, "PGDATABASE": target.database or ""}
    )
    assert restored.returncode == 0, restored.stderr
    assert f"into {target.database}" in restored.stderr
    # Without a URL or PGDATABASE, restore.sh does not guess a target.
    unnamed = run([str(RESTORE), str(dump)], None, **{**libpq, "PGDATABASE": ""})
    assert unnamed.returncode == 2 and "name the target database" in unnamed.stderr


def test_the_restored_database_serves_the_same_data(
    written: Written, new_database: NewDatabase
) -> None:
    target = new_database()
    restored = run([str(RESTORE), str(written.dump)], target)
    assert restored.returncode == 0, restored.stderr

    current = run([sys.executable, "-m", "alembic", "current"], target)
    assert current.returncode == 0, current.stderr
    assert current.stdout.split() == [head_revision(), "(head)"]

    env = {"ZB_ENV": "test", "ZB_SECRET_KEY": TEST_SECRET, "ZB_WORKER_IN_PROCESS": "false"}
    with live_server(target, env=env) as base, httpx.Client(base_url=base, timeout=30) as http:
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["migration"] == head_revision()

        # The volunteer's own access token still works: it is stored (hashed) in the database.
        me = http.get("/api/v1/me", headers=bearer(written.volunteer_token))
        assert me.status_code == 200, me.text
        profile = me.json()
        assert profile["name"] == "Fenna Terugzet"
        assert profile["phone"] == "+31631000001"
        assert profile["support_point"]["name"] == "Buurtsteunpunt Uithof"
        assert {s["code"] for s in profile["skills"]} == {"boodschappen", "verpleegtechnisch"}

        staff = bearer(written.staff_token)
        queue = http.get("/api/v1/vetting/queue", params={"include_all": "true"}, headers=staff)
        assert queue.status_code == 200, queue.text
        assert sorted(e["name"] for e in queue.json()["items"]) == sorted(VOLUNTEERS.values())

        incidents = http.get("/api/v1/incidents", headers=staff).json()
        assert [(i["id"], i["name"]) for i in incidents] == [
            (written.incident_id, "Griepgolf Utrecht-stad")
        ]
        tasks = http.get(
            "/api/v1/tasks", params={"incident_id": written.incident_id}, headers=staff
        ).json()
        assert sorted(t["id"] for t in tasks) == written.task_ids

        # A coordinator's page, with the browser session made before the backup.
        page = http.get(
            f"/beheer/incidenten/{written.incident_id}/dashboard",
            headers={"Cookie": f"{STAFF_COOKIE}={written.staff_cookie}"},
        )
        assert page.status_code == 200, page.text[:500]
        assert "Griepgolf Utrecht-stad" in page.text

        # New writes continue after the restored rows (sequences came along).
        opened = http.post(
            "/api/v1/incidents",
            json={"name": "Tweede golf", "vr_code": "VR09", "allow_overlap": True},
            headers=staff,
        )
        assert opened.status_code == 201, opened.text
        assert opened.json()["id"] > written.incident_id


def test_restore_refuses_a_database_that_is_not_empty(
    written: Written, new_database: NewDatabase
) -> None:
    target = new_database()
    assert run([str(RESTORE), str(written.dump)], target).returncode == 0
    again = run([str(RESTORE), str(written.dump)], target)
    assert again.returncode != 0
    assert "is not empty" in again.stderr
    forced = run([str(RESTORE), "--force", str(written.dump)], target)
    assert forced.returncode == 0, forced.stderr
    engine = make_engine(target, pool_size=1)
    with engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM volunteer ORDER BY name")).scalars().all()
    engine.dispose()
    assert names == sorted(VOLUNTEERS.values())  # replaced, not doubled


def test_a_failing_restore_exits_non_zero_and_leaves_nothing(
    written: Written, new_database: NewDatabase
) -> None:
    target = new_database()
    engine = make_engine(target, pool_size=1)
    # A composite type is no table, so the database counts as empty, but its name is taken:
    # CREATE TABLE volunteer fails half-way through the restore.
    with engine.begin() as conn:
        conn.execute(text("CREATE TYPE volunteer AS (x integer)"))
    failed = run([str(RESTORE), str(written.dump)], target)
    assert failed.returncode != 0
    assert "already exists" in failed.stderr
    with engine.connect() as conn:
        tables = conn.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        ).scalar_one()
    engine.dispose()
    assert tables == 0  # one transaction: nothing of the dump is left


def test_restore_refuses_sqlite_and_a_file_that_is_no_dump(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.dump"
    bogus.write_bytes(b"not a dump")
    sqlite = run([str(RESTORE), str(bogus)], f"sqlite:///{tmp_path / 'z.db'}")
    assert sqlite.returncode != 0
    assert "SQLite" in sqlite.stderr
    refused = run([str(RESTORE), str(bogus)], PG_SERVER + "zb_no_such_database")
    assert refused.returncode != 0
    assert "not a pg_dump custom-format archive" in refused.stderr
