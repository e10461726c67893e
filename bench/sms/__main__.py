"""SMS benchmark: the Twilio outbox worker and the inbound webhook, on PostgreSQL, in one run.

    python -m bench.sms [--messages 100000] [--workers 2] [--batch-size 100] [--concurrency 8]
                        [--duration 20] [--profile] [--quick]

Outbound: ``--messages`` SMS are bulk-queued (``notifications.outbox.message_values``, batches in
their own transactions; timed separately), then ``--workers`` real ``zorgbrigade worker``
processes send them through ``ZB_SMS_PROVIDER=twilio`` to the fake Twilio of the tests (real HTTP
on loopback, 2% 429s and 1% 5xx injected, no deduplication), from a Messaging Service whose
sender rate limit is set to a large pool (``--rate`` segments/s). Measured: messages/s from the
first claim to the last message sent, claim-to-sent and queue-to-sent latency, retries; checked:
every message ``sent`` and at the fake, none at the fake twice. Baselines in the same run: the
fake's own rate under wrk (a C client), and a tight loop through the real Twilio adapter with the
workers' processes and threads but no database (``bench/sms/client.py``).

Inbound: ``POST /webhooks/twilio/sms`` on the production app (uvicorn + httptools + uvloop, pinned
to CPU 0; wrk on CPU 1), every request a new MessageSid from a seeded, verified volunteer, signed
with Twilio's algorithm (bodies signed beforehand, cycled by the wrk script). Checked: one
inbound row per accepted request, no SID twice, at most one reply per inbound message, and a
Twilio retry of an already handled SID changes nothing. Baselines in the same run: ``GET
/healthz`` and an unsigned no-op ``POST /bench/noop`` with the same bodies.

``--profile`` adds py-spy profiles (after the measured phases, so they do not disturb them) of
one worker and of the web server.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from sqlalchemy import Engine, insert, text

from bench.common import (
    LATENCY_LUA,
    WrkResult,
    db_backend_pids,
    machine,
    postgres_database,
    print_table,
    run_wrk,
    server,
    write_result,
)
from bench.sms import profiling
from brigades import clock, migrate, runtime
from brigades.conversation.repository import REPLY_SUBJECT
from brigades.db import make_engine, session_scope
from brigades.demo.service import seed_region
from notifications.models import OutboxMessage, Priority
from notifications.outbox import message_values
from tests.conftest import make_settings
from tests.support.fake_twilio import FakeTwilio, Faults
from tests.support.live_server import ROOT, free_port
from tests.twilio.conftest import SERVICE_SID, WorkerProcess, worker_env

HERE = Path(__file__).resolve().parent
SIGNUP = HERE.parent / "signup"

GOAL_OUT_RPS = 2000.0
GOAL_IN_RPS = 2000.0
GOAL_IN_P99_MS = 50.0
HANDLING_SECONDS = 30.0  # the worker's handling of recorded inbound messages is timed this long
PUBLIC_URL = "https://zorgbrigade.example"  # in the StatusCallback URLs (callbacks are off)
INBOUND_NUMBER = "+3197010203040"
ENQUEUE_BATCH = 5000
# Production defaults of the adapter: the grace period must exceed
# ceil(batch / concurrency) * (connect + read) (brigades/settings.py).
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
# What volunteers answer: the common paths of the conversation.
REPLIES = (
    ("JA", 30),
    ("Ja!", 5),
    ("STATUS", 25),
    ("ja 4821", 10),
    ("Ik kan vandaag niet, ik ben ziek. Morgen weer.", 20),
    ("HULP", 5),
    ("nee hoor", 5),
)


def _faults() -> Faults:
    """What the fake injects: 2% rate-limited (429/20429), 1% server errors (500)."""
    return Faults(rate_limited=0.02, server_error=0.01)


def _stamp() -> str:
    return datetime.now().strftime("%H:%M:%S")


def say(text_: str) -> None:
    print(f"[{_stamp()}] {text_}", flush=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


_SCRIPTS: list[Path] = []


def _script(name: str, directory: Path = HERE) -> Path:
    """A wrk script with the shared latency/JSON reporter appended (removed at the end)."""
    path = Path(tempfile.mkstemp(prefix="bench_sms_", suffix=".lua")[1])
    path.write_text((directory / name).read_text() + LATENCY_LUA)
    _SCRIPTS.append(path)
    return path


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def _wrk_row(name: str, r: WrkResult, note: str = "") -> dict[str, object]:
    return {
        "what": name,
        "rate/s": r.rps,
        "p50 ms": r.p50_ms,
        "p99 ms": r.p99_ms,
        "max ms": r.max_ms,
        "non-2xx": r.non_2xx,
        "errors": r.socket_errors,
        "note": note,
    }


def _wrk_dict(r: WrkResult) -> dict[str, object]:
    return {
        "requests": r.requests,
        "seconds": r.seconds,
        "rps": round(r.rps, 1),
        "p50_ms": r.p50_ms,
        "p90_ms": r.p90_ms,
        "p99_ms": r.p99_ms,
        "max_ms": r.max_ms,
        "non_2xx": r.non_2xx,
        "socket_errors": r.socket_errors,
        "status": r.extra.get("status"),
    }


# -- outbound -------------------------------------------------------------------------------


def enqueue(engine: Engine, count: int, *, first_number: int = 0) -> float:
    """Queue ``count`` Twilio SMS to distinct numbers in batches; returns the seconds it took."""
    rng = random.Random(count)
    started = time.perf_counter()
    done = 0
    while done < count:
        size = min(ENQUEUE_BATCH, count - done)
        now = clock.now()
        rows = []
        for i in range(done, done + size):
            code = rng.randrange(1000, 10000)
            rows.append(
                message_values(
                    recipient=f"+3161{first_number + i:07d}",
                    body=(
                        f"Zorgbrigade: kun je vandaag 14:00-16:00 boodschappen doen in 3512? "
                        f"Antwoord JA {code} of NEE {code}."
                    ),
                    now=now,
                    provider="twilio",
                    priority=Priority.ROLL_CALL,
                )
            )
        with session_scope(engine) as session:
            session.execute(insert(OutboxMessage), rows)
        done += size
    return time.perf_counter() - started


def worker_settings(args: argparse.Namespace) -> dict[str, str]:
    """The worker environment beyond the fake's address and credentials (all stated in results)."""
    waves = -(-args.batch_size // args.concurrency) + 1  # and one check whether Twilio is down
    longest = waves * (CONNECT_TIMEOUT + READ_TIMEOUT)
    grace = max(300.0, longest + 60.0)
    return {
        "ZB_ENV": "production",
        "ZB_SECRET_KEY": secrets.token_urlsafe(48),
        "ZB_TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID,
        "ZB_WORKER_BATCH_SIZE": str(args.batch_size),
        "ZB_WORKER_CONCURRENCY": str(args.concurrency),
        "ZB_WORKER_SENDING_GRACE_SECONDS": f"{grace:.0f}",
        "ZB_WORKER_POLL_SECONDS": str(args.poll),
        "ZB_TWILIO_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT),
        "ZB_TWILIO_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
        "ZB_SMS_RATE_PER_SECOND": str(args.rate),
        "ZB_SMS_RATE_BURST": str(int(args.rate)),
        "ZB_DB_POOL_SIZE": "8",
        "ZB_OUTBOX_MAX_ATTEMPTS": "8",
    }


@contextmanager
def workers(url: str, fake: FakeTwilio, args: argparse.Namespace) -> Iterator[list[WorkerProcess]]:
    """``--workers`` ``zorgbrigade worker`` processes sending through the fake."""
    env = worker_env(url, fake, PUBLIC_URL, **worker_settings(args))
    env.pop("ZB_TWILIO_FROM", None)  # a Messaging Service, not a long code
    procs = [WorkerProcess(env) for _ in range(args.workers)]
    try:
        for proc in procs:
            proc.wait_started(60)
        yield procs
    finally:
        for proc in procs:
            proc.stop()


def wait_drained(engine: Engine, timeout: float) -> bool:
    """Wait until no message is queued or being sent."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            open_ = conn.execute(
                text("SELECT count(*) FROM outbox_message WHERE state IN ('queued', 'sending')")
            ).scalar_one()
        if open_ == 0:
            return True
        if last >= 0 and int(open_ / 10000) != int(last / 10000):
            say(f"  {open_:,} messages still to send")
        last = open_
        time.sleep(0.5)
    return False


def outbound_baselines(args: argparse.Namespace) -> tuple[WrkResult, dict[str, Any]]:
    """The fake's own rate under wrk, and the adapter's from 32 threads with no database."""
    with FakeTwilio(faults=_faults()) as fake:
        body = urlencode(
            {
                "To": "+31612345678",
                "Body": "Zorgbrigade: kun je vandaag 14:00-16:00 boodschappen doen in 3512? "
                "Antwoord JA 4821 of NEE 4821.",
                "MessagingServiceSid": SERVICE_SID,
                "StatusCallback": PUBLIC_URL + "/webhooks/twilio/status?outbox_id=1",
            }
        )
        say(f"baseline: fake Twilio under wrk ({args.baseline_seconds} s, 32 connections)")
        fake_wrk = run_wrk(
            fake.messages_url,
            script=_script("fake_post.lua"),
            duration=args.baseline_seconds,
            connections=32,
            script_args=[fake.authorization, body],
        )
    with FakeTwilio(faults=_faults()) as fake:
        say(
            f"baseline: real Twilio adapter (async), {args.workers} process(es) x "
            f"{args.concurrency} concurrent sends, no database ({args.baseline_seconds} s)"
        )
        cmd = [
            sys.executable,
            "-m",
            "bench.sms.client",
            "--api-base-url",
            fake.base_url,
            "--account-sid",
            fake.account_sid,
            "--auth-token",
            fake.auth_token,
            "--service-sid",
            SERVICE_SID,
            "--threads",
            str(args.concurrency),
            "--seconds",
            str(args.baseline_seconds),
        ]
        clients = [
            subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
            for _ in range(args.workers)
        ]
        parts = [json.loads(c.communicate()[0].strip().splitlines()[-1]) for c in clients]
        outcomes: Counter[str] = Counter()
        for part in parts:
            outcomes.update(part["outcomes"])
        adapter: dict[str, Any] = {
            "processes": args.workers,
            "concurrent_sends_each": args.concurrency,
            "requests": sum(p["requests"] for p in parts),
            "rps": round(sum(p["rps"] for p in parts), 1),
            "outcomes": dict(outcomes),
            # The slowest process's percentiles (each process measures its own sends).
            "p50_ms": round(max(p["p50_ms"] for p in parts), 2),
            "p99_ms": round(max(p["p99_ms"] for p in parts), 2),
            "fake_accepted": len(fake.accepted()),
        }
    return fake_wrk, adapter


def outbound(url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Queue the messages, drain them with the workers, check them against the fake."""
    engine = make_engine(url, pool_size=4)
    say(f"outbound: queueing {args.messages:,} messages in batches of {ENQUEUE_BATCH:,}")
    enqueue_seconds = enqueue(engine, args.messages)
    say(f"  queued in {enqueue_seconds:.1f} s ({args.messages / enqueue_seconds:,.0f}/s)")
    result: dict[str, Any] = {"enqueue_seconds": round(enqueue_seconds, 2)}
    with FakeTwilio(faults=_faults()) as fake, workers(url, fake, args) as procs:
        say(f"outbound: {args.workers} worker process(es) started; sending…")
        bench_pid = os.getpid()
        meter = profiling.CpuMeter(
            lambda: {
                "workers": [p.proc.pid for p in procs],
                "fake": [bench_pid],
                "postgres": db_backend_pids(engine),
            }
        )
        meter.start()
        started = time.monotonic()
        load_before = loadavg()
        drained = wait_drained(engine, timeout=args.messages / 50 + 60)
        wall = time.monotonic() - started
        result["cpu"] = meter.stop(wall, args.messages)
        result["loadavg_before"], result["loadavg_after"] = load_before, loadavg()
        if not drained:
            say("  NOT DRAINED within the time limit")
        per_id = fake.per_outbox_id()
        accepted = fake.accepted()
        result["fake"] = {
            "requests": fake.requests,
            "accepted": len(accepted),
            "injected": dict(fake.injected),
            "rejected_auth": fake.rejected_auth,
        }
        if len(accepted) > 1:
            span = accepted[-1].received_at - accepted[0].received_at
            result["fake"]["accepted_per_s"] = round((len(accepted) - 1) / span, 1)
        result.update(_check_outbound(engine, args.messages, per_id))
        if args.profile:
            rate = float(result.get("messages_per_s") or 200.0)
            result["profile"] = _profile_workers(engine, procs, args, tmp, rate)
        result["worker_errors"] = [
            line.strip()
            for p in procs
            for line in p.lines
            if " ERROR " in line or "Traceback" in line
        ][:20]
    engine.dispose()
    return result


def _check_outbound(engine: Engine, count: int, per_id: Counter[int | None]) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, state, attempts, created_at, claimed_at, sent_at "
                "FROM outbox_message ORDER BY id"
            )
        ).all()
        suspected = conn.execute(
            text("SELECT count(*) FROM outbox_suspected_duplicate")
        ).scalar_one()
    assert len(rows) == count, (len(rows), count)
    states = Counter(r.state for r in rows)
    sent = [r for r in rows if r.sent_at is not None]
    first_claim = min(r.claimed_at for r in rows if r.claimed_at is not None)
    sent_times = sorted(r.sent_at for r in sent)
    last_sent = sent_times[-1]
    span = (last_sent - first_claim).total_seconds()
    p99_index = max(0, int(0.99 * count) - 1)
    span_99 = (sent_times[min(p99_index, len(sent_times) - 1)] - first_claim).total_seconds()
    claim_to_sent = [(r.sent_at - r.claimed_at).total_seconds() * 1000 for r in sent]
    queue_to_sent = [(r.sent_at - r.created_at).total_seconds() * 1000 for r in sent]
    # Queued before the workers started: the wait counted from the first claim instead.
    backlog_to_sent = [
        (r.sent_at - max(r.created_at, first_claim)).total_seconds() * 1000 for r in sent
    ]
    ids = {r.id for r in rows}
    lost = [r.id for r in rows if r.state != "sent" or per_id.get(r.id, 0) == 0]
    duplicated = [i for i, n in per_id.items() if n > 1]
    unknown = [i for i in per_id if i not in ids]
    retries = sum(r.attempts for r in rows) - len(rows)
    return {
        "messages": count,
        "states": dict(states),
        "first_claim_to_last_sent_s": round(span, 2),
        "messages_per_s": round(count / span, 1) if span else None,
        "first_claim_to_99pct_sent_s": round(span_99, 2),
        "messages_per_s_first_99pct": round(0.99 * count / span_99, 1) if span_99 else None,
        "claim_to_sent_ms": {
            "p50": round(_pct(claim_to_sent, 0.5), 1),
            "p99": round(_pct(claim_to_sent, 0.99), 1),
            "max": round(max(claim_to_sent), 1),
        },
        "queue_to_sent_ms": {
            "p50": round(_pct(queue_to_sent, 0.5), 1),
            "p99": round(_pct(queue_to_sent, 0.99), 1),
            "max": round(max(queue_to_sent), 1),
        },
        "backlog_to_sent_ms": {
            "p50": round(_pct(backlog_to_sent, 0.5), 1),
            "p99": round(_pct(backlog_to_sent, 0.99), 1),
        },
        "retries": retries,
        "retried_messages": sum(1 for r in rows if r.attempts > 1),
        "max_attempts_used": max(r.attempts for r in rows),
        "lost": len(lost),
        "lost_ids_sample": lost[:10],
        "duplicates_at_fake": len(duplicated),
        "duplicate_ids_sample": duplicated[:10],
        "unknown_ids_at_fake": len(unknown),
        "suspected_duplicates_recorded": int(suspected),
    }


def _profile_workers(
    engine: Engine, procs: list[WorkerProcess], args: argparse.Namespace, tmp: Path, rate: float
) -> dict[str, Any]:
    """Queue more messages and sample one worker with py-spy while they go out."""
    extra = int(rate * (args.profile_seconds + 4))
    say(f"profile: {extra:,} more messages, py-spy on worker pid {procs[0].proc.pid}")
    with engine.connect() as conn:
        start_number = conn.execute(text("SELECT count(*) FROM outbox_message")).scalar_one()
    enqueue(engine, extra, first_number=start_number)
    time.sleep(1)
    raw = profiling.record(procs[0].proc.pid, args.profile_seconds, tmp / "worker.txt")
    wait_drained(engine, timeout=extra / 20 + 60)
    if raw is None:
        return {"error": "py-spy unavailable or sampled nothing"}
    summary = profiling.summarise(raw)
    summary["raw"] = str(raw)
    print(profiling.format_summary("outbox worker profile", summary))
    return summary


# -- inbound --------------------------------------------------------------------------------


def seed_volunteers(url: str, count: int) -> list[str]:
    """Seed one region's volunteers; the numbers of the verified, active, reachable ones."""
    engine = make_engine(url)
    with session_scope(engine) as session:
        seed_region(session, region="VR09", volunteers=count, seed=1, now=clock.now())
    with engine.connect() as conn:
        phones = list(
            conn.execute(
                text(
                    "SELECT phone FROM volunteer WHERE status = 'active' "
                    "AND phone_verified_at IS NOT NULL AND NOT sms_opted_out "
                    "AND phone IS NOT NULL ORDER BY id"
                )
            ).scalars()
        )
    engine.dispose()
    return phones


def signed_bodies(
    path: Path,
    *,
    url: str,
    auth_token: str,
    account_sid: str,
    phones: list[str],
    count: int,
    tag: str,
) -> list[str]:
    """Write ``count`` signed inbound webhooks ("signature<TAB>body" lines); returns their SIDs."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(auth_token)
    rng = random.Random(tag)
    words = [w for w, _ in REPLIES]
    weights = [n for _, n in REPLIES]
    sids = []
    with path.open("w") as out:
        for i in range(count):
            sid = f"SM{tag}{i:0{32 - len(tag)}x}"
            params = {
                "ToCountry": "NL",
                "ToState": "",
                "SmsMessageSid": sid,
                "NumMedia": "0",
                "ToCity": "",
                "FromZip": "",
                "SmsSid": sid,
                "FromState": "",
                "SmsStatus": "received",
                "FromCity": "",
                "Body": rng.choices(words, weights)[0],
                "FromCountry": "NL",
                "To": INBOUND_NUMBER,
                "MessagingServiceSid": SERVICE_SID,
                "ToZip": "",
                "NumSegments": "1",
                "ReferralNumMedia": "0",
                "MessageSid": sid,
                "AccountSid": account_sid,
                "From": phones[rng.randrange(len(phones))],
                "ApiVersion": "2010-04-01",
            }
            signature = validator.compute_signature(url, params)
            out.write(f"{signature}\t{urlencode(params)}\n")
            sids.append(sid)
    return sids


def inbound(url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Seed volunteers, then measure the signed webhook against its baselines."""
    result: dict[str, Any] = {}
    say(f"inbound: seeding {args.volunteers:,} volunteers (VR09)")
    started = time.perf_counter()
    phones = seed_volunteers(url, args.volunteers)
    result["seed_seconds"] = round(time.perf_counter() - started, 1)
    result["verified_active_volunteers"] = len(phones)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    hook = base + "/webhooks/twilio/sms"
    auth_token = secrets.token_hex(16)
    account_sid = "AC" + secrets.token_hex(16)
    bodies = max(20_000, 8000 * args.duration)
    say(f"inbound: signing {bodies:,} + warm-up webhook bodies")
    sign = partial(
        signed_bodies, url=hook, auth_token=auth_token, account_sid=account_sid, phones=phones
    )
    warm_file, run_file, retry_file = tmp / "warm.txt", tmp / "run.txt", tmp / "profile.txt"
    sign(warm_file, count=5000, tag="0a")
    run_sids = sign(run_file, count=bodies, tag="1b")
    if args.profile:
        sign(retry_file, count=max(20_000, 4000 * args.profile_seconds), tag="2c")
    env = {
        "DATABASE_URL": url,
        "ZB_ENV": "production",
        "ZB_SECRET_KEY": secrets.token_urlsafe(48),
        "ZB_PUBLIC_URL": base,
        "ZB_WORKER_IN_PROCESS": "false",
        "ZB_DB_POOL_SIZE": "20",
        "ZB_SMS_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": account_sid,
        "TWILIO_AUTH_TOKEN": auth_token,
        "ZB_TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID,
    }
    server_cpus = "0" if args.pin and args.server_workers == 1 else None
    result["server"] = {
        "app": "bench.sms.app:create_bench_app (brigades.app.create_app + /bench/noop)",
        "uvicorn": f"httptools + uvloop, {args.server_workers} process(es)"
        + (", pinned to CPU 0" if server_cpus else ""),
        "wrk": f"1 thread, {args.connections} connections"
        + (", pinned to CPU 1" if args.pin else ""),
        "env": {k: v for k, v in env.items() if k not in ("ZB_SECRET_KEY", "TWILIO_AUTH_TOKEN")}
        | {"DATABASE_URL": "fresh PostgreSQL database"},
    }
    engine = make_engine(url, pool_size=2)
    load_cpus = "1" if args.pin else None
    inbound_lua = _script("inbound.lua")
    with server(
        "bench.sms.app:create_bench_app",
        env,
        port=port,
        cpus=server_cpus,
        workers=args.server_workers,
    ) as proc:
        common = {"duration": args.duration, "connections": args.connections, "cpus": load_cpus}
        say("inbound: warming up (5 s)")
        warm = run_wrk(
            hook,
            script=inbound_lua,
            duration=5,
            connections=args.connections,
            cpus=load_cpus,
            script_args=[str(warm_file), "1"],
        )
        result["warmup"] = _wrk_dict(warm)
        say(f"baseline: GET /healthz ({args.duration} s)")
        health = run_wrk(base + "/healthz", script=_script("healthz.lua", SIGNUP), **common)
        say(f"baseline: POST /bench/noop, unsigned, same bodies ({args.duration} s)")
        noop = run_wrk(
            base + "/bench/noop", script=inbound_lua, **common, script_args=[str(run_file), "1"]
        )
        say(f"inbound: POST /webhooks/twilio/sms, signed ({args.duration} s)")
        meter = profiling.CpuMeter(
            lambda: {"server": [proc.pid], "postgres": db_backend_pids(engine)}
        )
        meter.start()
        load_before = loadavg()
        real = run_wrk(hook, script=inbound_lua, **common, script_args=[str(run_file), "1"])
        result["cpu"] = meter.stop(real.seconds, real.requests)
        result["loadavg_before"], result["loadavg_after"] = load_before, loadavg()
        time.sleep(2)  # requests still in flight when wrk stopped
        say("inbound: the worker's job handles what the webhook recorded (1 process)")
        result["handling"] = handle_recorded(url, env)
        result.update(_check_inbound(engine, real, run_sids))
        result["twilio_retry"] = _retry_check(engine, hook, run_file, sample=300)
        if args.profile:
            say(f"profile: py-spy on the server (pid {proc.pid}) under signed load")
            pr = subprocess.Popen(
                [
                    "wrk",
                    "-t1",
                    f"-c{args.connections}",
                    f"-d{args.profile_seconds + 3}s",
                    "-s",
                    str(inbound_lua),
                    hook,
                    "--",
                    str(retry_file),
                    "1",
                ],
                stdout=subprocess.DEVNULL,
            )
            time.sleep(1.5)
            raw = profiling.record(proc.pid, args.profile_seconds, tmp / "server.txt")
            pr.wait()
            if raw is not None:
                summary = profiling.summarise(raw)
                summary["raw"] = str(raw)
                print(profiling.format_summary("web server profile", summary))
                result["profile"] = summary
    engine.dispose()
    for bodies_file in (warm_file, run_file, retry_file):  # tens of MB of signed bodies
        bodies_file.unlink(missing_ok=True)
    result["runs"] = {
        "healthz": _wrk_dict(health),
        "noop": _wrk_dict(noop),
        "webhook": _wrk_dict(real),
    }
    result["_wrk"] = (health, noop, real)
    return result


def handle_recorded(url: str, env: dict[str, str]) -> dict[str, Any]:
    """Run the worker's inbound job (``runtime.inbound_job``) until nothing is left (or for
    ``HANDLING_SECONDS``); its rate."""
    settings = make_settings(
        url,
        sms_provider="twilio",
        public_url=env["ZB_PUBLIC_URL"],
        twilio_account_sid=env["TWILIO_ACCOUNT_SID"],
        twilio_auth_token=env["TWILIO_AUTH_TOKEN"],
        twilio_messaging_service_sid=SERVICE_SID,
        worker_batch_size=500,
        worker_concurrency=64,
    )
    engine = make_engine(url, pool_size=2, pre_ping=False)
    with engine.connect() as conn:
        waiting = conn.execute(
            text("SELECT count(*) FROM inbound_message WHERE handled_at IS NULL")
        ).scalar_one()
    job = runtime.inbound_job(settings, engine)
    started, cpu = time.perf_counter(), time.process_time()
    handled = rounds = 0
    while (done := job()) and time.perf_counter() - started < HANDLING_SECONDS:
        handled += done
        rounds += 1
    handled += done
    seconds = time.perf_counter() - started
    cpu_s = time.process_time() - cpu
    engine.dispose()
    return {
        "waiting": int(waiting),
        "handled": handled,
        "rounds": rounds,
        "seconds": round(seconds, 2),
        "per_s": round(handled / seconds, 1) if seconds else None,
        "cpu_ms_per_message": round(cpu_s * 1000 / handled, 3) if handled else None,
    }


def _check_inbound(engine: Engine, real: WrkResult, run_sids: list[str]) -> dict[str, Any]:
    status = real.extra.get("status", {})
    assert isinstance(status, dict)
    ok = sum(int(n) for code, n in status.items() if str(code).startswith("2"))
    sent_per_thread = real.extra.get("sent_per_thread", [])
    sent = sum(int(x) for x in sent_per_thread) if isinstance(sent_per_thread, list) else 0
    exhausted = int(str(real.extra.get("exhausted") or 0))
    prefix = run_sids[0][:4]
    with engine.connect() as conn:
        rows, distinct = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT provider_sid) FROM inbound_message "
                "WHERE provider_sid LIKE :p"
            ),
            {"p": prefix + "%"},
        ).one()
        outcomes: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT outcome, count(*) FROM inbound_message WHERE provider_sid LIKE :p "
                    "GROUP BY outcome ORDER BY 2 DESC"
                ),
                {"p": prefix + "%"},
            ).all()
        )
        replies, reply_dupes = conn.execute(
            text(
                "SELECT count(*), count(*) - count(DISTINCT o.subject_id) FROM outbox_message o "
                "JOIN inbound_message i ON i.id = o.subject_id "
                "WHERE o.subject_kind = :k AND i.provider_sid LIKE :p"
            ),
            {"k": REPLY_SUBJECT, "p": prefix + "%"},
        ).one()
    return {
        "accepted_2xx": ok,
        "requests_started": sent,  # request() calls of the wrk script (one is wrk's own check)
        "bodies_exhausted": exhausted,
        "inbound_rows": int(rows),
        "distinct_sids": int(distinct),
        "lost": max(0, ok - int(rows)),
        "recorded_beyond_2xx": int(rows) - ok,  # in flight when wrk stopped, answered after
        "sid_twice": int(rows) - int(distinct),
        "replies_queued": int(replies),
        "inbound_with_two_replies": int(reply_dupes),
        "outcomes": {str(k): int(v) for k, v in outcomes.items()},
    }


def _sid_of(body: str) -> str:
    return dict(parse_qsl(body))["MessageSid"]


_COUNTS = "SELECT (SELECT count(*) FROM inbound_message), (SELECT count(*) FROM outbox_message)"


def _retry_check(engine: Engine, hook: str, run_file: Path, *, sample: int) -> dict[str, Any]:
    """Twilio retrying webhooks it already delivered: same answer, nothing new recorded."""
    with engine.connect() as conn:
        recorded = set(
            conn.execute(
                text("SELECT provider_sid FROM inbound_message ORDER BY id DESC LIMIT 5000")
            ).scalars()
        )
        before = conn.execute(text(_COUNTS)).one()
    lines = [
        line
        for line in run_file.read_text().splitlines()
        if _sid_of(line.split("\t", 1)[1]) in recorded
    ][:sample]
    statuses: Counter[int] = Counter()
    with httpx.Client(timeout=30) as client:
        for line in lines:
            signature, body = line.split("\t", 1)
            r = client.post(
                hook,
                content=body,
                headers={
                    "X-Twilio-Signature": signature,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            statuses[r.status_code] += 1
    with engine.connect() as conn:
        after = conn.execute(text(_COUNTS)).one()
    return {
        "reposted": len(lines),
        "statuses": dict(statuses),
        "new_inbound_rows": int(after[0] - before[0]),
        "new_outbox_rows": int(after[1] - before[1]),
    }


# -- main -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sms", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--batch-size", type=int, default=500, help="ZB_WORKER_BATCH_SIZE")
    parser.add_argument("--concurrency", type=int, default=64, help="ZB_WORKER_CONCURRENCY")
    parser.add_argument("--rate", type=float, default=5000.0, help="sender segments/s (and burst)")
    parser.add_argument("--poll", type=float, default=0.1, help="ZB_WORKER_POLL_SECONDS")
    parser.add_argument("--duration", type=int, default=20, help="wrk seconds per inbound run")
    parser.add_argument("--baseline-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-workers", type=int, default=1, help="uvicorn processes")
    parser.add_argument("--volunteers", type=int, default=5000)
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="no CPU pinning")
    parser.add_argument("--profile", action="store_true", help="py-spy on a worker and the server")
    parser.add_argument("--profile-seconds", type=int, default=8)
    parser.add_argument("--skip-outbound", action="store_true")
    parser.add_argument("--skip-inbound", action="store_true")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 5,000 messages, 10 s wrk runs; results go to a temporary directory",
    )
    args = parser.parse_args()
    if args.quick:
        args.messages = min(args.messages, 5000)
        args.duration = min(args.duration, 10)
        args.baseline_seconds = min(args.baseline_seconds, 5)
        args.volunteers = min(args.volunteers, 2000)
        args.profile_seconds = min(args.profile_seconds, 5)
    return args


def main() -> None:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_sms_"))
    result: dict[str, Any] = {
        "machine": machine(),
        "command": "python -m bench.sms " + " ".join(sys.argv[1:]),
        "args": vars(args),
        "loadavg_start": loadavg(),
    }
    rows: list[dict[str, object]] = []
    out: dict[str, Any] = {}
    inn: dict[str, Any] = {}
    with postgres_database("zb_bench_sms") as url:
        say("preparing database (migrations)")
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        if not args.skip_outbound:
            fake_wrk, adapter = outbound_baselines(args)
            out = outbound(url, args, tmp)
            out["baseline_fake_wrk"] = _wrk_dict(fake_wrk)
            out["baseline_adapter_no_db"] = adapter
            out["settings"] = {
                k: v for k, v in worker_settings(args).items() if k != "ZB_SECRET_KEY"
            } | {
                "workers": args.workers,
                "ZB_SMS_PROVIDER": "twilio",
                "sender": "Messaging Service " + SERVICE_SID,
                "sender_rate_limit": f"{args.rate:,.0f} segments/s, burst {int(args.rate):,} "
                "(a large Messaging Service pool)",
                "faults": "2% 429 (code 20429), 1% 500 (code 20500), no time-outs",
                "status_callbacks": "off (the fake does not call back during the run)",
            }
            rows.append(_wrk_row("out: fake Twilio <- wrk (baseline)", fake_wrk))
            rows.append(
                {
                    "what": f"out: adapter {args.workers}x{args.concurrency} async, no DB",
                    "rate/s": adapter["rps"],
                    "p50 ms": adapter["p50_ms"],
                    "p99 ms": adapter["p99_ms"],
                    "note": str(adapter["outcomes"]),
                }
            )
            rows.append(
                {
                    "what": f"out: outbox, {args.workers} worker proc(s) -> fake",
                    "rate/s": out["messages_per_s"],
                    "p50 ms": out["claim_to_sent_ms"]["p50"],
                    "p99 ms": out["claim_to_sent_ms"]["p99"],
                    "max ms": out["claim_to_sent_ms"]["max"],
                    "note": f"claim-to-sent; lost {out['lost']}, dup {out['duplicates_at_fake']}",
                }
            )
        if not args.skip_inbound:
            inn = inbound(url, args, tmp)
            health, noop, real = inn.pop("_wrk")
            rows.append(_wrk_row("in: GET /healthz (baseline)", health))
            rows.append(_wrk_row("in: POST /bench/noop, unsigned (baseline)", noop))
            rows.append(
                _wrk_row(
                    "in: POST /webhooks/twilio/sms, signed",
                    real,
                    f"rows {inn['inbound_rows']}, lost {inn['lost']}, sid twice {inn['sid_twice']}",
                )
            )
    result["loadavg_end"] = loadavg()
    print()
    print_table(rows, ["what", "rate/s", "p50 ms", "p99 ms", "max ms", "non-2xx", "errors", "note"])
    print()
    summary: dict[str, Any] = {}
    if out:
        fake_rps = out["baseline_fake_wrk"]["rps"]
        summary["outbound"] = {
            "messages_per_s": out["messages_per_s"],
            "ratio_to_fake_wrk": round(out["messages_per_s"] / fake_rps, 3),
            "ratio_to_adapter_no_db": round(
                out["messages_per_s"] / out["baseline_adapter_no_db"]["rps"], 3
            ),
            "messages_per_s_first_99pct": out["messages_per_s_first_99pct"],
            "claim_to_sent_ms": out["claim_to_sent_ms"],
            "queue_to_sent_ms": out["queue_to_sent_ms"],
            "enqueue_seconds": out["enqueue_seconds"],
            "retries": out["retries"],
            "fake_injected": out["fake"]["injected"],
            "cpu_ms_per_message": {
                k.removesuffix("_cpu_ms_per_unit"): v
                for k, v in out["cpu"].items()
                if k.endswith("_cpu_ms_per_unit")
            },
            "machine_busy_pct": out["cpu"]["machine_busy_pct"],
            "loadavg_during": out["loadavg_after"],
            "lost": out["lost"],
            "duplicates": out["duplicates_at_fake"],
            "suspected_duplicates_recorded": out["suspected_duplicates_recorded"],
            "goal": f">= {GOAL_OUT_RPS:.0f} messages/s, 0 lost, 0 duplicates",
            "goal_met": bool(
                out["messages_per_s"] >= GOAL_OUT_RPS
                and out["lost"] == 0
                and out["duplicates_at_fake"] == 0
            ),
        }
    if inn:
        real_rps = inn["runs"]["webhook"]["rps"]
        p99 = inn["runs"]["webhook"]["p99_ms"]
        summary["inbound"] = {
            "webhooks_per_s": real_rps,
            "p99_ms": p99,
            "ratio_to_healthz": round(real_rps / inn["runs"]["healthz"]["rps"], 3),
            "ratio_to_noop": round(real_rps / inn["runs"]["noop"]["rps"], 3),
            "cpu_ms_per_request": {
                k.removesuffix("_cpu_ms_per_unit"): v
                for k, v in inn["cpu"].items()
                if k.endswith("_cpu_ms_per_unit")
            },
            "machine_busy_pct": inn["cpu"]["machine_busy_pct"],
            "loadavg_during": inn["loadavg_after"],
            "accepted_2xx": inn["accepted_2xx"],
            "inbound_rows": inn["inbound_rows"],
            "lost": inn["lost"],
            "sid_twice": inn["sid_twice"],
            "inbound_with_two_replies": inn["inbound_with_two_replies"],
            "twilio_retry": inn["twilio_retry"],
            "worker_handling": inn["handling"],
            "goal": f">= {GOAL_IN_RPS:.0f}/s with p99 <= {GOAL_IN_P99_MS:.0f} ms, every reply "
            "recorded once",
            "goal_met": bool(
                real_rps >= GOAL_IN_RPS
                and p99 <= GOAL_IN_P99_MS
                and inn["lost"] == 0
                and inn["sid_twice"] == 0
                and inn["inbound_with_two_replies"] == 0
                and inn["bodies_exhausted"] == 0
            ),
        }
    print(json.dumps(summary, indent=2))
    result.update({"table": rows, "summary": summary, "outbound": out, "inbound": inn})
    if args.quick:  # a smoke run never replaces the recorded full run
        path = tmp / "sms.json"
        path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    else:
        path = write_result("sms", result)
    for script in _SCRIPTS:
        script.unlink(missing_ok=True)
    say(f"results written to {path} (raw py-spy profiles in {tmp})")


if __name__ == "__main__":
    main()
