"""Logs: JSON lines that parse, redaction of personal data, and a whole flow that leaks nothing."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades import logs, runtime
from brigades.accounts.models import Role
from brigades.app import create_app
from brigades.clock import ManualClock
from brigades.db import make_engine, session_scope
from brigades.settings import Environment, LogFormat, LogLevel, Settings, project_root
from brigades.volunteers.models import Volunteer
from notifications.models import InboundMessage, MessageState, OutboxMessage
from tests.accounts.factories import make_user
from tests.conftest import TEST_SECRET, make_settings
from tests.support.live_server import free_port
from tests.volunteers.factories import (
    PHONE,
    PHONE_E164,
    last_code,
    make_support_point,
    outbox_to,
    sign_up_payload,
)
from tests.webhooks.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, post_signed

# The national number 6 12345678 in any spelling: +31612345678, 0612345678, 06-1234 5678,
# 0031 6 12345678, 31612345678 …
PHONE_ANY_FORMAT = re.compile(
    r"6[\s.()-]*1[\s.()-]*2[\s.()-]*3[\s.()-]*4[\s.()-]*5[\s.()-]*6[\s.()-]*7[\s.()-]*8"
)
STAFF_EMAIL = "coordinator.zeldzaam@example.nl"
NAME = sign_up_payload()["name"]


def _json_handler() -> tuple[logging.Handler, io.StringIO]:
    buffer = io.StringIO()
    return logs.make_handler(LogFormat.JSON, buffer), buffer


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the production handler (JSON) into a buffer."""
    handler, buffer = _json_handler()
    logger = logging.getLogger(f"tests.ops.logs.{secrets.token_hex(4)}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize(
    "number",
    [
        "+31612345678",
        "0612345678",
        "06-12345678",
        "06 1234 5678",
        "06 12 34 56 78",
        "0031612345678",
        "0031 6 12345678",
        "+31 6 12345678",
        "+31 (0)6 12345678",
        "31612345678",
        "020-1234567",
        "+32470123456",
    ],
)
def test_phone_numbers_are_redacted_in_every_spelling(number: str) -> None:
    redacted = logs.redact(f"bel {number} terug")
    assert redacted == f"bel {logs.PHONE} terug"


def test_e_mail_postcode_and_link_tokens_are_redacted() -> None:
    assert logs.redact(f"login {STAFF_EMAIL} mislukt") == f"login {logs.EMAIL} mislukt"
    assert logs.redact("adres 3584 CS 12a, Utrecht") == f"adres {logs.ADDRESS}, Utrecht"
    assert logs.redact("adres 3584cs 12") == f"adres {logs.ADDRESS}"
    assert logs.redact("GET /l/Zt8k2-_xQ9aB3c/ 200") == f"GET /l/{logs.TOKEN}/ 200"
    assert logs.redact("/beheer/wachtwoord/herstel/abcdef12345") == (
        f"/beheer/wachtwoord/herstel/{logs.TOKEN}"
    )


@pytest.mark.parametrize(
    "text",
    [
        "outbox=123456789 failed permanently (code 30003)",
        "2026-12-07 09:11:46,123 took 1234 ms",
        "request 550e8400-e29b-41d4-a716-446655440000 from 127.0.0.1:8000",
        "sid SMa1b2c3d4e5f60718293a4b5c6d7e8f90, epoch 1765098706.5",
        "GET /api/v1/tasks/{task_id} 200 12.3ms, pc4 3512, VR09 GM0344",
        "1234 en 5678 of meer",
    ],
)
def test_ordinary_log_text_is_left_alone(text: str) -> None:
    assert logs.redact(text) == text


def test_json_lines_redact_message_args_and_exception(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = json_log
    logger.info("sms naar 0612345678")
    logger.warning("antwoord van %s over %s", PHONE_E164, {"mail": STAFF_EMAIL})
    token = logs.request_id.set("req-12345678")
    try:
        raise ValueError(f"no volunteer with phone 0031 6 12345678 ({STAFF_EMAIL})")
    except ValueError:
        logger.exception("lookup for %s failed", "06-1234 5678")
    finally:
        logs.request_id.reset(token)

    info, warning, error = lines(buffer)
    assert set(info) == {"time", "level", "logger", "message"}
    assert (info["level"], info["logger"]) == ("INFO", logger.name)
    assert info["message"] == f"sms naar {logs.PHONE}"
    assert warning["message"] == f"antwoord van {logs.PHONE} over {{'mail': '{logs.EMAIL}'}}"
    assert error["request_id"] == "req-12345678"
    assert error["message"] == f"lookup for {logs.PHONE} failed"
    assert "ValueError: no volunteer with phone [telefoon] ([e-mail])" in error["exception"]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", info["time"])
    text = buffer.getvalue()
    assert not PHONE_ANY_FORMAT.search(text) and STAFF_EMAIL not in text


def test_the_text_format_is_redacted_too() -> None:
    buffer = io.StringIO()
    handler = logs.make_handler(LogFormat.TEXT, buffer)
    record = logging.LogRecord(
        "brigades.x", logging.INFO, __file__, 1, "to %s", ("06 12345678",), None
    )
    handler.handle(record)
    assert buffer.getvalue().rstrip().endswith(f"INFO brigades.x to {logs.PHONE}")


def test_format_and_level_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_settings("sqlite://").effective_log_format is LogFormat.TEXT
    production = make_settings("sqlite://", env="production", secret_key=TEST_SECRET)
    assert production.effective_log_format is LogFormat.JSON
    monkeypatch.setenv("ZB_ENV", "production")
    monkeypatch.setenv("ZB_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("ZB_LOG_FORMAT", "text")
    monkeypatch.setenv("ZB_LOG_LEVEL", "DEBUG")
    from_env = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_env.env is Environment.PRODUCTION
    assert (from_env.effective_log_format, from_env.log_level) == (LogFormat.TEXT, LogLevel.DEBUG)
    assert "log_json" not in Settings.model_fields


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the global logging configuration back after a test applies the real one."""
    root = logging.getLogger()
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy")
    saved = (root.level, list(root.handlers))
    loggers = {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers)) for n in names}
    propagate = {n: logging.getLogger(n).propagate for n in names}
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, (level, handlers) in loggers.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate[name]


def test_debug_level_keeps_sql_rows_out_of_the_logs(restore_logging: None) -> None:
    logging.config.dictConfig(logs.logging_config(LogFormat.JSON, LogLevel.DEBUG))
    assert logging.getLogger("brigades.volunteers").isEnabledFor(logging.DEBUG)
    # SQLAlchemy would log every statement at INFO and every result row at DEBUG.
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
    assert not logging.getLogger("uvicorn.access").isEnabledFor(logging.INFO)
    [handler] = logging.getLogger().handlers
    assert any(isinstance(f, logs.RedactionFilter) for f in handler.filters)


def test_each_request_is_logged_by_route_template_with_its_id(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    handler, buffer = _json_handler()
    requests_log = logging.getLogger("brigades.requests")
    requests_log.addHandler(handler)
    link_token = secrets.token_urlsafe(16)
    try:
        with caplog.at_level(logging.INFO, logger="brigades.requests"), TestClient(app) as client:
            response = client.get(f"/l/{link_token}?van=sms")
    finally:
        requests_log.removeHandler(handler)
    [line] = lines(buffer)
    assert line["message"].startswith(f"GET /l/{{token}} {response.status_code} ")
    assert line["request_id"] == response.headers["x-request-id"]
    assert link_token not in buffer.getvalue() + caplog.text
    assert "van=sms" not in buffer.getvalue()


@pytest.fixture
def flow_settings(fresh_database: str) -> Settings:
    """Console SMS, Twilio's webhook served (signed), committed data in a throwaway database."""
    return make_settings(
        fresh_database,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        public_url=PUBLIC_URL,
    )


def test_sign_up_code_and_sms_reply_leave_no_personal_data_in_the_logs(
    flow_settings: Settings,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    engine = make_engine(flow_settings.database_url)
    with session_scope(engine) as session:
        make_support_point(session, name="Buurtsteunpunt Uithof", postcode="3584 CS")
        make_user(session, role=Role.ADMINISTRATOR, email=STAFF_EMAIL)
    app = create_app(flow_settings, engine=engine)
    worker = runtime.build_worker(flow_settings, engine)
    # Everything at DEBUG, as ZB_LOG_LEVEL=DEBUG configures it, through pytest's capture (the raw
    # records, before any redaction) and through the production JSON handler.
    config = logs.logging_config(LogFormat.JSON, LogLevel.DEBUG)
    for name, entry in config["loggers"].items():
        caplog.set_level(entry["level"], logger=name)
    caplog.set_level(logging.DEBUG)  # last: it sets the capturing handler's level too
    handler, buffer = _json_handler()
    logging.getLogger().addHandler(handler)
    try:
        with TestClient(app, base_url="http://testserver", client=("127.0.0.1", 50000)) as client:
            signed_up = client.post("/api/v1/volunteers", json=sign_up_payload())
            assert signed_up.status_code == 202, signed_up.text
            assert worker.run_once() >= 1  # the code SMS goes out through the console provider
            with Session(engine) as session:
                code = last_code(session)
            verified = client.post("/api/v1/volunteers/verify", json={"phone": PHONE, "code": code})
            assert verified.status_code == 200, verified.text
            wrong = client.post(
                "/api/v1/volunteers/verify", json={"phone": "0612345678", "code": "000000"}
            )
            assert wrong.status_code in {400, 404, 409, 422, 429}
            worker.run_once()
            reply = post_signed(
                client,
                "/webhooks/twilio/sms",
                {
                    "MessageSid": "SM" + secrets.token_hex(16),
                    "AccountSid": ACCOUNT_SID,
                    "From": PHONE_E164,
                    "To": "+3197010203040",
                    "Body": "STATUS",
                    "NumSegments": "1",
                },
            )
            assert reply.status_code == 200
            worker.run_once()  # handles the reply and sends the answer
            worker.run_once()
            login = client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": STAFF_EMAIL, "password": "fout-fout"},
            )
            assert login.status_code == 401
            assert client.get("/metrics").status_code == 200
    finally:
        logging.getLogger().removeHandler(handler)
        engine.dispose()

    with Session(make_engine(flow_settings.database_url)) as session:
        volunteer = session.exec(select(Volunteer)).one()
        assert volunteer.phone_verified_at is not None
        inbound = session.exec(select(InboundMessage)).one()
        assert inbound.handled_at is not None
        sent = [m for m in outbox_to(session, PHONE_E164) if m.state is MessageState.SENT]
        assert len(sent) >= 2, "the code SMS and the answer to STATUS went out"
        assert all(m.provider == "console" for m in session.exec(select(OutboxMessage)))

    out, err = capfd.readouterr()
    captured = {
        "caplog": caplog.text,
        "json handler": buffer.getvalue(),
        "stdout/stderr": out + err,
    }
    # The capture saw the flow: requests, the console provider's sends, the worker.
    assert "POST /api/v1/volunteers 202" in caplog.text
    assert "POST /webhooks/twilio/sms 200" in caplog.text
    assert caplog.text.count("console sms outbox=") >= 2
    assert {r.name for r in caplog.records} >= {
        "brigades.requests",
        "notifications.providers.console",
    }
    for source, text in captured.items():
        assert not PHONE_ANY_FORMAT.search(text), f"a phone number in the {source} output"
        assert STAFF_EMAIL not in text, f"an e-mail address in the {source} output"
        assert NAME not in text, f"the volunteer's name in the {source} output"
        assert "3584 CS" not in text, f"the volunteer's postcode in the {source} output"
        assert not re.search(rf"\b{code}\b", text), f"the verification code in the {source} output"
    for line in buffer.getvalue().splitlines():
        json.loads(line)


def test_zorgbrigade_serve_writes_redacted_json_lines_from_every_process(
    fresh_database: str,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database,
        "ZB_ENV": "development",
        "ZB_LOG_FORMAT": "json",
        "ZB_WORKER_IN_PROCESS": "false",
        "ZB_SECRET_KEY": TEST_SECRET,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "brigades.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=project_root(),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    link_token = secrets.token_urlsafe(16)
    try:
        # Two processes importing the app: about 20 s here, several times that under heavy load.
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, "zorgbrigade serve exited"
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "zorgbrigade serve did not start"
            time.sleep(0.2)
        linked = httpx.get(f"{base}/l/{link_token}?van=sms")
        wrong = httpx.post(
            f"{base}/api/v1/volunteers/verify", json={"phone": "0612345678", "code": "123456"}
        )
        assert wrong.status_code in {400, 404}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    entries = [json.loads(line) for line in err.splitlines() if line.strip()]
    requests = [e for e in entries if e["logger"] == "brigades.requests"]
    assert any(
        e["message"].startswith(f"GET /l/{{token}} {linked.status_code} ")
        and e["request_id"] == linked.headers["x-request-id"]
        for e in requests
    ), requests
    assert any(e["message"].startswith("POST /api/v1/volunteers/verify ") for e in requests)
    assert link_token not in err and "van=sms" not in err
    assert not PHONE_ANY_FORMAT.search(err)
    assert {e["level"] for e in entries} <= {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
