"""The national run's code-zwart incident: 10,000 tasks in one region, dispatched for real.

After the seeding and the sign-up surge (:mod:`bench.national`), on the same database:

- The processes of the production layout: the app (``--api-workers`` uvicorn processes) and two
  ``zorgbrigade worker`` processes (outbox, periodic jobs: dispatch rounds, expiries, replies),
  sending through the Twilio adapter to the fake Twilio server over loopback
  (``tests.support.fake_twilio``) with faults injected: 2 % answered 429, 1 % answered 500, and
  0.5 % of the region's numbers refused for good (21610 unsubscribed, 21211 invalid).
- The region's seeded volunteers are marked non-synthetic first: synthetic recipients never go
  over a network provider (``notifications.providers.refuse_synthetic``), and this run must take
  the production path. The "network" is the local fake.
- A regional coordinator (API token) opens a code-zwart incident at level 3 for ``--region`` and
  uploads ``--tasks`` tasks as one CSV (``POST /api/v1/incidents/{id}/tasks/import``), spread over
  the region's PC4 areas by inhabitants, each a 60-minute job on the next day between 09:00 and
  17:00: one 8-hour window, or ``--windows`` equal ones.
- Simulated volunteers answer the offers that reach the fake, each with the offer's code over the
  signed inbound webhook (``X-Twilio-Signature`` by twilio's own ``RequestValidator``): 50 % JA and
  30 % NEE after 3–40 s, 20 % never. A reply the app does not acknowledge with 200 is retried with
  the same ``MessageSid`` (as Twilio does).

Measured: time until 50 % and 90 % of the tasks are filled (from the end of the import), messages
and offers per filled task, outbound SMS throughput at the fake, the webhook's latency as the
repliers saw it, each process's peak memory. Checked at the end, once the outbox has drained:
no message lost (every outbox row sent, delivered or failed for good, every sent one received by
the fake once), no reply lost (every acknowledged reply recorded and handled, none marked
failed), no double booking (no task with more assignments than slots, no volunteer in two
overlapping assignments).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, text
from twilio.request_validator import RequestValidator

from bench.common import coordinator_token
from brigades import clock
from geo import load_reference_data
from tests.support.fake_twilio import FakeTwilio, Faults
from tests.support.live_server import ROOT, free_port

FROM_NUMBER = "+3197010203040"
LEVEL = 3
JA_SHARE, NEE_SHARE = 0.5, 0.3  # the rest never answers
REPLY_DELAY_S = (3.0, 40.0)
PERMANENT_SHARE = 0.005
SMS_RATE_PER_SECOND = 500  # a Messaging Service pool of long codes (stated in BENCHMARKS.md)
REPLY_THREADS = 8
OFFER = re.compile(r"Stuur JA (\S+) of NEE")
# An outbox row that reached one of these is settled; "uncertain" waits for a person.
TERMINAL = ("sent", "delivered", "undelivered", "failed")
HEADER = "type;postcode;huisnummer;plaats;datum;van;tot;duur_minuten;omschrijving"


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(order=True)
class Reply:
    due: float
    sid: str = field(compare=False)
    phone: str = field(compare=False)
    body: str = field(compare=False)
    attempts: int = field(default=0, compare=False)


class Repliers:
    """Volunteers answering the offers the fake received, over the signed webhook."""

    def __init__(self, fake: FakeTwilio, public_url: str, seed: int = 9) -> None:
        self.fake = fake
        self.url = public_url + "/webhooks/twilio/sms"
        self.validator = RequestValidator(fake.auth_token)
        self.rng = random.Random(seed)
        self.seen = 0
        self.queue: list[Reply] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sids = itertools.count(1)
        self.acknowledged: list[str] = []
        self.latencies_ms: list[float] = []
        self.failures = 0
        self.offers_seen = 0
        self.answers = {"ja": 0, "nee": 0, "silent": 0}
        self.threads = [threading.Thread(target=self._scan, daemon=True)] + [
            threading.Thread(target=self._send, daemon=True) for _ in range(REPLY_THREADS)
        ]

    def __enter__(self) -> Repliers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def pending(self) -> int:
        with self.lock:
            return len(self.queue)

    def _scan(self) -> None:
        while not self.stop.wait(0.2):
            messages = self.fake.accepted()[self.seen :]
            self.seen += len(messages)
            for message in messages:
                found = OFFER.search(message.body)
                if not found:
                    continue
                self.offers_seen += 1
                draw = self.rng.random()
                if draw >= JA_SHARE + NEE_SHARE:
                    self.answers["silent"] += 1
                    continue
                word = "ja" if draw < JA_SHARE else "nee"
                self.answers[word] += 1
                reply = Reply(
                    due=time.monotonic() + self.rng.uniform(*REPLY_DELAY_S),
                    sid=f"SM{next(self.sids):032d}",
                    phone=message.to,
                    body=f"{word} {found.group(1)}",
                )
                with self.lock:
                    heapq.heappush(self.queue, reply)

    def _send(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                with self.lock:
                    reply = (
                        heapq.heappop(self.queue)
                        if self.queue and self.queue[0].due <= time.monotonic()
                        else None
                    )
                if reply is None:
                    time.sleep(0.05)
                    continue
                self._post(client, reply)

    def _post(self, client: httpx.Client, reply: Reply) -> None:
        params = {
            "MessageSid": reply.sid,
            "AccountSid": self.fake.account_sid,
            "From": reply.phone,
            "To": FROM_NUMBER,
            "Body": reply.body,
        }
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.url, params)}
        started = time.perf_counter()
        try:
            status = client.post(self.url, data=params, headers=headers).status_code
        except httpx.HTTPError:
            status = 0
        elapsed = (time.perf_counter() - started) * 1000
        if status == 200:
            with self.lock:
                self.latencies_ms.append(elapsed)
                self.acknowledged.append(reply.sid)
            return
        # Twilio retries a webhook that was not acknowledged, with the same MessageSid.
        with self.lock:
            self.failures += 1
            if reply.attempts < 5:
                reply.attempts += 1
                reply.due = time.monotonic() + 2
                heapq.heappush(self.queue, reply)


class Worker:
    """A ``zorgbrigade worker`` process."""

    def __init__(self, env: dict[str, str], log_path: str) -> None:
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "brigades.cli", "worker"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> int:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return self.proc.returncode


def tasks_csv(region: str, count: int, seed: int = 3, windows: int = 1) -> tuple[bytes, str]:
    """``count`` tasks over the region's PC4 areas by inhabitants; returns (csv, windows).

    The day's shift, 09:00-17:00 the next day, as one window or cut into ``windows`` equal ones
    (task ``i`` in window ``i % windows``): a volunteer booked for a task is busy for its whole
    window, so with one window each volunteer can take one task of the incident at most.
    """
    reference = load_reference_data()
    areas = [a for a in reference.pc4s.values() if a.vr_code == region and a.inwoners > 0]
    rng = random.Random(seed)
    picks = rng.choices(areas, weights=[a.inwoners for a in areas], k=count)
    # On the next day, whatever the hour the run starts: comparable runs (a window from the next
    # full hour made a run after midnight ask for groceries at night).
    local = clock.local(clock.now())
    start = (local + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    step = timedelta(hours=8) / windows
    shifts = [(start + k * step, start + (k + 1) * step) for k in range(windows)]
    day = f"{start:%d-%m-%Y}"
    lines = [HEADER]
    for i, area in enumerate(picks):
        van, tot = shifts[i % windows]
        lines.append(
            f"boodschappen;{area.pc4};{i % 150 + 1};;{day};{van:%H:%M};{tot:%H:%M};60;"
            "Boodschappen halen"
        )
    spans = ", ".join(f"{van:%H:%M}–{tot:%H:%M}" for van, tot in shifts)
    return ("\r\n".join(lines) + "\r\n").encode(), f"{day} {spans}"


def prepare_region(url: str, region: str, fake: FakeTwilio, seed: int = 5) -> dict[str, int]:
    """Make the region's seeded volunteers real recipients; some numbers fail for good."""
    from brigades.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE volunteer SET synthetic = false WHERE vr_code = :r AND synthetic"),
            {"r": region},
        )
        phones = [
            row[0]
            for row in conn.execute(
                text("SELECT phone FROM volunteer WHERE vr_code = :r AND phone IS NOT NULL"),
                {"r": region},
            )
        ]
        ready = conn.execute(
            text(
                "SELECT count(*) FROM volunteer WHERE vr_code = :r AND vetting_level >= 1 "
                "AND phone_verified_at IS NOT NULL AND status = 'active'"
            ),
            {"r": region},
        ).scalar_one()
    engine.dispose()
    rng = random.Random(seed)
    for phone in rng.sample(phones, int(len(phones) * PERMANENT_SHARE)):
        fake.faults.permanent[phone] = rng.choice((21610, 21211))
    return {
        "volunteers_in_region": len(phones),
        "level_1_or_more": int(ready),
        "numbers_refused_for_good": len(fake.faults.permanent),
    }


def run(
    url: str,
    args: argparse.Namespace,
    rss: Any,
    api_env: Callable[[str, str], dict[str, str]],
) -> dict[str, Any]:
    """The incident phase; returns its measurements and checks."""
    from bench.common import server

    region = getattr(args, "region", None) or "VR09"
    faults = Faults(rate_limited=0.02, server_error=0.01)
    with FakeTwilio(faults=faults, callbacks=True) as fake:
        population = prepare_region(url, region, fake)
        say(f"incident: {population}")
        token = coordinator_token(url, region)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **api_env(url, base),
            "ZB_SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "ZB_TWILIO_FROM": FROM_NUMBER,
            "ZB_TWILIO_API_BASE_URL": fake.base_url,
            "ZB_SMS_RATE_PER_SECOND": str(SMS_RATE_PER_SECOND),
            "ZB_SMS_RATE_BURST": str(SMS_RATE_PER_SECOND),
        }
        with (
            server("brigades.app:served_app", env, port=port, workers=args.api_workers) as api,
            Repliers(fake, base) as repliers,
        ):
            rss.watch("api", api.pid)
            workers = [Worker(env, f"/tmp/zb-national-worker{i}.log") for i in range(2)]
            for i, w in enumerate(workers):
                rss.watch(f"dispatcher{i}", w.proc.pid)
            try:
                result = _drive(url, base, token, args, fake, repliers, region)
            finally:
                codes = [w.stop() for w in workers]
                for i in range(len(workers)):
                    rss.forget(f"dispatcher{i}")
                rss.forget("api")
        result["population"] = population
        result["worker_exit_codes"] = codes
        result["fake"] = {
            "accepted": len(fake.accepted()),
            "injected": dict(fake.injected),
            "requests": fake.requests,
        }
        result["checks"] = _checks(url, fake, repliers, result)
    return result


def _drive(
    url: str,
    base: str,
    token: str,
    args: argparse.Namespace,
    fake: FakeTwilio,
    repliers: Repliers,
    region: str,
) -> dict[str, Any]:
    from brigades.db import make_engine

    auth = {"Authorization": f"Bearer {token}"}
    data, window = tasks_csv(region, args.tasks, windows=args.windows)
    with httpx.Client(base_url=base, timeout=300, headers=auth) as client:
        incident = client.post(
            "/api/v1/incidents",
            json={"name": "Code zwart (benchmark)", "vr_code": region, "level": LEVEL},
        )
        incident.raise_for_status()
        incident_id = incident.json()["id"]
        say(f"incident {incident_id} open in {region}; importing {args.tasks:,} tasks ({window})")
        started = time.perf_counter()
        answer = client.post(
            f"/api/v1/incidents/{incident_id}/tasks/import",
            files={"file": ("taken.csv", data, "text/csv")},
        )
        answer.raise_for_status()
        status_url = answer.json()["status_url"]
        while (status := client.get(status_url).json())["state"] not in ("done", "failed"):
            time.sleep(0.2)
        assert status["state"] == "done", status
        imported = time.perf_counter()
        say(f"imported in {imported - started:.1f} s; dispatching")
    engine = make_engine(url)
    timeline: list[tuple[float, int, int, int]] = []
    reached: dict[str, float | None] = {"50": None, "90": None}
    deadline = imported + args.incident_minutes * 60
    query = text(
        "SELECT count(*) FILTER (WHERE state = 'filled'), "
        "count(*) FILTER (WHERE state = 'unfillable'), count(*) FROM care_task "
        "WHERE incident_id = :i"
    )
    while time.perf_counter() < deadline:
        time.sleep(2)
        with engine.connect() as conn:
            filled, unfillable, total = conn.execute(query, {"i": incident_id}).one()
        elapsed = time.perf_counter() - imported
        timeline.append((round(elapsed, 1), filled, unfillable, len(fake.accepted())))
        for share in ("50", "90"):
            if reached[share] is None and filled >= total * int(share) / 100:
                reached[share] = round(elapsed, 1)
        if len(timeline) % 15 == 0:
            say(f"  {elapsed:6.0f} s: {filled:,} filled, {unfillable:,} unfillable of {total:,}")
        if reached["90"] is not None and elapsed > reached["90"] + 30:
            break
    dispatch_seconds = time.perf_counter() - imported
    # Stop answering; let the outbox drain and the last replies be handled.
    drain_started = time.perf_counter()
    while time.perf_counter() - drain_started < 180:
        with engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM outbox_message WHERE state IN "
                    "('queued', 'sending')) + (SELECT count(*) FROM inbound_message "
                    "WHERE handled_at IS NULL)"
                )
            ).scalar_one()
        if waiting == 0 and repliers.pending() == 0:
            break
        time.sleep(1)
    with engine.connect() as conn:
        fill_seconds = [
            float(r[0])
            for r in conn.execute(
                text(
                    "SELECT extract(epoch FROM a.assigned_at - t.created_at) FROM assignment a "
                    "JOIN care_task t ON t.id = a.task_id WHERE t.incident_id = :i"
                ),
                {"i": incident_id},
            )
        ]
        offer_seconds = [
            float(r[0])
            for r in conn.execute(
                text(
                    "SELECT extract(epoch FROM min(o.created_at) - t.created_at) FROM offer o "
                    "JOIN care_task t ON t.id = o.task_id WHERE t.incident_id = :i "
                    "GROUP BY t.id, t.created_at"
                ),
                {"i": incident_id},
            )
        ]
        unfillable_why = _unfillable_reasons(conn, incident_id)
    engine.dispose()
    accepted = fake.accepted()
    first = min((m.received_at for m in accepted), default=0.0)
    last = max((m.received_at for m in accepted), default=0.0)
    per_10s: dict[int, int] = {}
    for m in accepted:
        bucket = int((m.received_at - first) // 10)
        per_10s[bucket] = per_10s.get(bucket, 0) + 1
    return {
        "region": region,
        "tasks": args.tasks,
        "window": window,
        "level": LEVEL,
        "import_seconds": round(imported - started, 1),
        "dispatch_seconds": round(dispatch_seconds, 1),
        "seconds_to_50pct_filled": reached["50"],
        "seconds_to_90pct_filled": reached["90"],
        "timeline": timeline[::5],
        "first_offer_after_task_created_s": {
            "p50": _round(percentile(offer_seconds, 0.5)),
            "p90": _round(percentile(offer_seconds, 0.9)),
            "p99": _round(percentile(offer_seconds, 0.99)),
        },
        "unfillable": unfillable_why,
        "filled_after_task_created_s": {
            "p50": _round(percentile(fill_seconds, 0.5)),
            "p90": _round(percentile(fill_seconds, 0.9)),
            "p99": _round(percentile(fill_seconds, 0.99)),
        },
        "sms_out": {
            "messages": len(accepted),
            "per_second_overall": round(len(accepted) / (last - first), 1)
            if last > first
            else None,
            "per_second_peak_10s": round(max(per_10s.values(), default=0) / 10, 1),
            "rate_limit_per_second": SMS_RATE_PER_SECOND,
        },
        "replies": {
            "offers_seen": repliers.offers_seen,
            "answers": dict(repliers.answers),
            "acknowledged": len(repliers.acknowledged),
            "not_acknowledged_attempts": repliers.failures,
            "webhook_p50_ms": _round(percentile(repliers.latencies_ms, 0.5)),
            "webhook_p99_ms": _round(percentile(repliers.latencies_ms, 0.99)),
            "webhook_max_ms": _round(max(repliers.latencies_ms, default=0.0)),
        },
    }


def _unfillable_reasons(conn: Connection, incident_id: int) -> dict[str, Any]:
    """The incident's unfillable tasks by why (the dispatcher's reasons, ``dispatch.messages``)
    and task type: nobody suitable within the widest radius, or suitable volunteers who were all
    busy, at their cap or already asked (with how many that were), everyone suitable asked and
    declined or silent, and whether some slots were filled."""
    rows = conn.execute(
        text(
            "SELECT type_code, unfillable_reason FROM care_task "
            "WHERE incident_id = :i AND state = 'unfillable'"
        ),
        {"i": incident_id},
    ).all()
    why: Counter[str] = Counter()
    by_type: dict[str, Counter[str]] = {}
    blocked: list[float] = []
    for type_code, reason in rows:
        reason = reason or ""
        count = re.match(r"Alle ([\d.]+)(?: of meer)? geschikte", reason)
        suitable = (
            1
            if reason.startswith("De enige")
            else int(count.group(1).replace(".", ""))
            if count
            else 0
        )
        if reason.startswith("Niemand"):
            kind = "no_candidates"
        elif "ingezet" in reason:
            kind = "all_busy"
        elif "al gevraagd" in reason:
            kind = "all_asked"
        else:
            kind = "other"
        if kind == "all_busy":
            blocked.append(float(suitable))
        if "plekken bezet" in reason:
            kind += "_partly_filled"
        why[kind] += 1
        by_type.setdefault(type_code, Counter())[kind] += 1
    return {
        "by_reason": dict(why.most_common()),
        "by_task_type": {t: dict(c.most_common()) for t, c in sorted(by_type.items())},
        "suitable_but_busy_p50": _round(percentile(blocked, 0.5)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _checks(
    url: str, fake: FakeTwilio, repliers: Repliers, result: dict[str, Any]
) -> dict[str, Any]:
    from brigades.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:

        def one(sql: str) -> int:
            return int(conn.execute(text(sql)).scalar_one())

        filled = one("SELECT count(*) FROM care_task WHERE state = 'filled'")
        offers = one("SELECT count(*) FROM offer")
        outbox = {
            f"{provider}:{state}": int(n)
            for provider, state, n in conn.execute(
                text("SELECT provider, state, count(*) FROM outbox_message GROUP BY 1, 2")
            )
        }
        sent_ids = {
            int(r[0])
            for r in conn.execute(
                text(
                    "SELECT id FROM outbox_message WHERE provider = 'twilio' AND "
                    "(state IN ('sent', 'delivered') OR provider_sid IS NOT NULL)"
                )
            )
        }
        over_booked = one(
            "SELECT count(*) FROM (SELECT t.id FROM care_task t JOIN assignment a "
            "ON a.task_id = t.id WHERE a.state <> 'cancelled' GROUP BY t.id, t.slots "
            "HAVING count(*) > t.slots) x"
        )
        double_booked = one(
            "SELECT count(*) FROM assignment a JOIN care_task t ON t.id = a.task_id "
            "JOIN assignment b ON b.volunteer_id = a.volunteer_id AND b.id > a.id "
            "JOIN care_task u ON u.id = b.task_id WHERE a.state <> 'cancelled' "
            "AND b.state <> 'cancelled' AND t.window_start < u.window_end "
            "AND u.window_start < t.window_end "
            "AND NOT (a.finished_at IS NOT NULL AND a.finished_at <= b.assigned_at)"
        )
        recorded = {
            r[0]: r[1]
            for r in conn.execute(text("SELECT provider_sid, handled_at FROM inbound_message"))
        }
        suspected = one("SELECT count(*) FROM outbox_suspected_duplicate")
        # A reply marked as failed was recorded but never acted on: lost as far as its sender
        # is concerned (a database too busy for it is tried again, never marked).
        replies_failed = one("SELECT count(*) FROM inbound_message WHERE outcome = 'error'")
    engine.dispose()
    received = [m.outbox_id for m in fake.accepted() if m.outbox_id is not None]
    twice = len(received) - len(set(received))
    # Lost: sent to Twilio by our account of it but never received there, or left uncertain.
    # Still waiting (queued when the run stopped, e.g. the surge's verification codes behind
    # the incident's offers) is reported apart: it is not lost, it goes out later.
    uncertain = sum(n for key, n in outbox.items() if key.endswith(":uncertain"))
    waiting = sum(
        n for key, n in outbox.items() if key.split(":")[1] not in (*TERMINAL, "uncertain")
    )
    replies_lost = sum(1 for sid in repliers.acknowledged if sid not in recorded) + replies_failed
    replies_waiting = sum(1 for sid in repliers.acknowledged if recorded.get(sid) is None)
    messages_lost = len(sent_ids - set(received)) + uncertain
    checks = {
        "messages_lost": messages_lost,
        "messages_still_queued": waiting,
        "messages_received_twice": twice,
        "suspected_duplicates": suspected,
        "replies_lost": replies_lost,
        "replies_failed": replies_failed,
        "replies_recorded_not_yet_handled": replies_waiting,
        "tasks_over_booked": over_booked,
        "volunteers_double_booked": double_booked,
        "outbox_states": outbox,
    }
    checks["all_ok"] = not (messages_lost or twice or replies_lost or over_booked or double_booked)
    result["filled"] = filled
    result["messages_per_filled_task"] = round(len(fake.accepted()) / filled, 2) if filled else None
    result["offers_per_filled_task"] = round(offers / filled, 2) if filled else None
    return checks
