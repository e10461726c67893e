"""The coordinator's dashboard under load: an incident with 10,000 tasks and 200,000 volunteers
in its region (VR09), measured in headless Chromium from navigation to the map with its markers
drawn (the page's ``map-drawn`` performance mark), then until the volunteer aggregates (coverage
table, density layer, ``volunteers-drawn``) are in, plus the live endpoint's latency.

    python -m bench.dashboard [--tasks 10000] [--volunteers 200000] [--runs 7]

    python -m bench.dashboard --tasks 500 --volunteers 5000 --offers 2000 --runs 2   # smoke

Data: volunteers on the region's PC4 centroids (weighted by inhabitants), all verified and
active, 1-3 weekly windows each; tasks on PC4 centroids with a spread of states (40 % open,
20 % offering, 15 % filled, 10 % in progress, 10 % done, 5 % unfillable). The incident's history
as a real one has it after some hours: offers to every task that left "open" (pending for tasks
being offered, one accepted per filled task, the rest declined, expired or too late), an
assignment per accepted offer, the audit events of all those state changes, and an outbox row
per offer and per assignment (mostly delivered, some queued, about 1 % failed). Loaded with COPY
into a fresh PostgreSQL database migrated to head; the app runs as one uvicorn process.

Both the map (``map-drawn``) and the volunteer layer (``volunteers-drawn``) are reported against
the goal of 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pyotp
from sqlalchemy import text

import geo
from bench.common import machine, postgres_database, print_table, server, write_result
from brigades.accounts import auth
from brigades.accounts import service as accounts
from brigades.accounts.models import Role
from brigades.accounts.schemas import UserCreate
from brigades.accounts.scope import AccessScope
from brigades.audit.service import CLI
from brigades.db import make_engine, session_scope
from brigades.incidents import service as incidents
from brigades.incidents.models import IncidentKind
from brigades.migrate import upgrade
from tests.support.browser import chromium
from tests.support.live_server import free_port

REGION = "VR09"
EMAIL = "bench-dashboard@vr09.example"
PASSWORD = "bench-dashboard-wachtwoord-2026"
STATES = (
    ("open", 0.40),
    ("offering", 0.20),
    ("filled", 0.15),
    ("in_progress", 0.10),
    ("done", 0.10),
    ("unfillable", 0.05),
)
GOAL_MS = 1000.0


def _copy(conn: Any, table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _history(
    conn: Any, rng: np.random.Generator, *, incident_id: int, offers: int, now: datetime
) -> dict[str, int]:
    """Offers, assignments, audit events and outbox messages of the incident so far."""
    tasks = [
        (int(i), str(s))
        for i, s in conn.execute(
            text("SELECT id, state FROM care_task WHERE incident_id = :i ORDER BY id"),
            {"i": incident_id},
        )
    ]
    people = [int(r[0]) for r in conn.execute(text("SELECT id FROM volunteer ORDER BY id"))]
    phones = dict(conn.execute(text("SELECT id, phone FROM volunteer")).all())
    dispatched = [(i, s) for i, s in tasks if s != "open"]
    per_task = max(1, offers // max(1, len(dispatched)))
    filled = {"filled", "in_progress", "done"}
    offer_rows: list[tuple[object, ...]] = []
    events: list[tuple[object, ...]] = []

    def event(at: datetime, action: str, kind: str, object_id: int, detail: str) -> None:
        events.append((at, None, "Systeem", action, kind, str(object_id), REGION, detail))

    created_at = {
        task_id: now - timedelta(minutes=int(rng.integers(30, 600))) for task_id, _ in tasks
    }
    for task_id, _ in tasks:
        detail = f'{{"incident_id": {incident_id}}}'
        event(created_at[task_id], "task.created", "care_task", task_id, detail)
    for task_id, state in dispatched:
        opened = created_at[task_id]
        path = ["offering"]
        if state in filled:
            path += ["filled", "in_progress", "done"][
                : ["filled", "in_progress", "done"].index(state) + 1
            ]
        elif state == "unfillable":
            path.append("unfillable")
        before = "open"
        for step, to in enumerate(path):
            detail = f'{{"from": "{before}", "to": "{to}", "incident_id": {incident_id}}}'
            event(opened + timedelta(minutes=5 * step), f"task.{to}", "care_task", task_id, detail)
            before = to
        waves = int(rng.integers(1, 4))
        for wave in range(waves):
            event(opened + timedelta(minutes=10 * wave), "task.wave", "care_task", task_id, "{}")
        n = int(rng.integers(max(1, per_task // 2), per_task * 3 // 2 + 1))
        chosen = rng.choice(len(people), size=n, replace=False)
        for k, pick in enumerate(chosen):
            created = opened + timedelta(minutes=10 * int(rng.integers(0, waves)))
            if state in filled and k == 0:
                offer_state = "accepted"
            elif state == "offering" and k < 2:
                offer_state = "pending"
            else:
                offer_state = str(rng.choice(["declined", "expired", "too_late", "declined"]))
            answered = (
                created + timedelta(seconds=int(rng.integers(30, 1200)))
                if offer_state in ("accepted", "declined", "too_late")
                else None
            )
            offer_rows.append(
                (
                    task_id,
                    people[pick],
                    1 + k % waves,
                    offer_state,
                    created,
                    created + timedelta(minutes=30),
                    answered,
                    answered or created + timedelta(minutes=30),
                )
            )
    _copy(
        conn,
        "offer",
        [
            "task_id",
            "volunteer_id",
            "wave",
            "state",
            "created_at",
            "expires_at",
            "answered_at",
            "state_changed_at",
        ],
        offer_rows,
    )
    accepted = conn.execute(
        text(
            "SELECT o.id, o.task_id, o.volunteer_id, o.answered_at, t.state FROM offer o"
            " JOIN care_task t ON t.id = o.task_id"
            " WHERE t.incident_id = :i AND o.state = 'accepted'"
        ),
        {"i": incident_id},
    ).all()
    assignment_state = {"filled": "assigned", "in_progress": "checked_in", "done": "done"}
    assignment_rows = [
        (task_id, volunteer_id, offer_id, assignment_state[state], answered, answered)
        for offer_id, task_id, volunteer_id, answered, state in accepted
    ]
    _copy(
        conn,
        "assignment",
        ["task_id", "volunteer_id", "offer_id", "state", "assigned_at", "state_changed_at"],
        assignment_rows,
    )
    for offer_id, task_id, state, answered in conn.execute(
        text(
            "SELECT o.id, o.task_id, o.state, o.state_changed_at FROM offer o JOIN care_task t"
            " ON t.id = o.task_id WHERE t.incident_id = :i AND o.state <> 'pending'"
        ),
        {"i": incident_id},
    ):
        detail = f'{{"from": "pending", "to": "{state}", "task_id": {task_id}}}'
        event(answered, f"offer.{state}", "offer", offer_id, detail)
    for assignment_id, answered in conn.execute(
        text(
            "SELECT a.id, a.assigned_at FROM assignment a JOIN care_task t ON t.id = a.task_id"
            " WHERE t.incident_id = :i"
        ),
        {"i": incident_id},
    ):
        event(answered, "assignment.assigned", "assignment", assignment_id, "{}")
    _copy(
        conn,
        "audit_event",
        [
            "at",
            "actor_user_id",
            "actor_label",
            "action",
            "object_kind",
            "object_id",
            "vr_code",
            "detail",
        ],
        events,
    )
    subjects = [
        ("offer", int(i), int(v), str(s), c)
        for i, v, s, c in conn.execute(
            text(
                "SELECT o.id, o.volunteer_id, o.state, o.created_at FROM offer o"
                " JOIN care_task t ON t.id = o.task_id WHERE t.incident_id = :i"
            ),
            {"i": incident_id},
        )
    ] + [
        ("assignment", int(i), int(v), "accepted", c)
        for i, v, c in conn.execute(
            text(
                "SELECT a.id, a.volunteer_id, a.assigned_at FROM assignment a"
                " JOIN care_task t ON t.id = a.task_id WHERE t.incident_id = :i"
            ),
            {"i": incident_id},
        )
    ]
    message_rows = []
    for kind, subject_id, volunteer_id, subject_state, created in subjects:
        roll = rng.random()
        if subject_state == "pending" and roll < 0.3:
            state = "queued"
        elif roll < 0.01:
            state = "failed"
        else:
            state = "delivered"
        message_rows.append(
            (
                phones[volunteer_id],
                volunteer_id,
                "sms",
                "console",
                "Kun je helpen? Boodschappen in 3512, vandaag 14:00-16:00. Antwoord JA 4821",
                50,
                False,
                False,
                kind,
                subject_id,
                state,
                0 if state == "queued" else 1,
                created,
                1,
                created,
                created,
            )
        )
    _copy(
        conn,
        "outbox_message",
        [
            "recipient",
            "volunteer_id",
            "channel",
            "provider",
            "body",
            "priority",
            "drill",
            "synthetic",
            "subject_kind",
            "subject_id",
            "state",
            "attempts",
            "next_attempt_at",
            "segments",
            "created_at",
            "updated_at",
        ],
        message_rows,
    )
    return {
        "offers": len(offer_rows),
        "assignments": len(assignment_rows),
        "audit_events": len(events),
        "outbox_messages": len(message_rows),
    }


def populate(url: str, *, tasks: int, volunteers: int, offers: int) -> dict[str, object]:
    """Migrate, then load the coordinator, the incident, its tasks and the volunteers."""
    engine = make_engine(url)
    upgrade(engine)
    rng = np.random.default_rng(6)
    data = geo.load_reference_data()
    areas = [a for a in data.pc4s.values() if a.vr_code == REGION and a.inwoners > 0]
    weights = np.array([a.inwoners for a in areas], dtype=float)
    weights /= weights.sum()
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        user = accounts.create_user(
            session,
            data=UserCreate(
                email=EMAIL,
                name="Bench",
                role=Role.REGIONAL_COORDINATOR,
                password=PASSWORD,
                vr_codes=[REGION],
            ),
            actor=CLI,
            now=now,
        )
        secret = auth.enrolment_secret(session, user=user)
        user.totp_enabled_at = now
        session.add(user)
        incident = incidents.open_incident(
            session,
            actor=CLI,
            scope=AccessScope.everything(),
            kind=IncidentKind.CODE_ZWART,
            name="Bench",
            level=3,
            vr_code=REGION,
            gm_codes=None,
            polygon_geojson=None,
            allow_overlap=True,
            now=now,
        )
        incident_id = incident.id
    start = time.perf_counter()
    with engine.begin() as conn:
        for i, name in enumerate(("Noord", "Oost", "Zuid", "West", "Centrum")):
            area = areas[i * len(areas) // 5]
            conn.execute(
                text(
                    "INSERT INTO support_point (name, street, house_number, postcode, place, lat,"
                    " lon, gm_code, vr_code, opening_hours, active, created_at) VALUES (:n, '',"
                    " '', :pc, '', :lat, :lon, :gm, :vr, '', true, :now)"
                ),
                {
                    "n": f"Buurtsteunpunt {name}",
                    "pc": str(area.pc4),
                    "lat": area.lat,
                    "lon": area.lon,
                    "gm": area.gm_code,
                    "vr": REGION,
                    "now": now,
                },
            )
        point_ids = [r[0] for r in conn.execute(text("SELECT id FROM support_point"))]
        picks = rng.choice(len(areas), size=tasks, p=weights)
        states = rng.choice(len(STATES), size=tasks, p=[s[1] for s in STATES])
        task_rows = []
        for i in range(tasks):
            area = areas[picks[i]]
            begin = now + timedelta(hours=int(rng.integers(1, 72)))
            state = STATES[states[i]][0]
            task_rows.append(
                (
                    incident_id,
                    REGION,
                    area.gm_code,
                    "boodschappen",
                    f"{area.pc4}",
                    area.pc4,
                    area.lat,
                    area.lon,
                    begin,
                    begin + timedelta(hours=3),
                    60,
                    1,
                    "normal",
                    "Boodschappen halen",
                    state,
                    now,
                    "Niemand beschikbaar binnen 10 km" if state == "unfillable" else None,
                    now,
                    now,
                )
            )
        _copy(
            conn,
            "care_task",
            [
                "incident_id",
                "vr_code",
                "gm_code",
                "type_code",
                "postcode",
                "pc4",
                "lat",
                "lon",
                "window_start",
                "window_end",
                "duration_minutes",
                "slots",
                "priority",
                "description",
                "state",
                "state_changed_at",
                "unfillable_reason",
                "created_at",
                "updated_at",
            ],
            task_rows,
        )
        picks = rng.choice(len(areas), size=volunteers, p=weights)
        volunteer_rows = []
        for i in range(volunteers):
            area = areas[picks[i]]
            volunteer_rows.append(
                (
                    f"bench{i:027d}",
                    f"Vrijwilliger {i}",
                    f"+3161{i:07d}",
                    now,
                    "active",
                    True,
                    str(area.pc4),
                    area.pc4,
                    area.lat,
                    area.lon,
                    area.gm_code,
                    REGION,
                    point_ids[i % len(point_ids)],
                    10,
                    "[]",
                    "sms",
                    False,
                    1,
                    True,
                    1,
                    now,
                    now,
                )
            )
        _copy(
            conn,
            "volunteer",
            [
                "public_id",
                "name",
                "phone",
                "phone_verified_at",
                "status",
                "adult_confirmed",
                "postcode",
                "pc4",
                "lat",
                "lon",
                "gm_code",
                "vr_code",
                "support_point_id",
                "max_distance_km",
                "languages",
                "preferred_channel",
                "sms_opted_out",
                "vetting_level",
                "synthetic",
                "link_version",
                "created_at",
                "updated_at",
            ],
            volunteer_rows,
        )
        ids = [r[0] for r in conn.execute(text("SELECT id FROM volunteer ORDER BY id"))]
        window_rows = []
        for vid in ids:
            for day in rng.choice(7, size=int(rng.integers(1, 4)), replace=False):
                window_rows.append((vid, int(day), 8 * 60, 18 * 60))
        _copy(
            conn,
            "availability_window",
            ["volunteer_id", "weekday", "start_minute", "end_minute"],
            window_rows,
        )
        history = _history(conn, rng, incident_id=incident_id or 0, offers=offers, now=now)
        conn.execute(text("ANALYZE"))
    load_s = time.perf_counter() - start
    engine.dispose()
    return {
        "incident_id": incident_id,
        "secret": secret,
        "load_seconds": load_s,
        "windows": len(window_rows),
        **history,
    }


def measure(base: str, scene: dict[str, object], runs: int) -> dict[str, object]:
    """Navigation → map drawn, in Chromium (first run cold, the rest warm)."""
    dashboard = f"{base}/beheer/incidenten/{scene['incident_id']}/dashboard"
    timings: list[float] = []
    volunteers_drawn: list[float] = []
    markers = 0
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="nl-NL")
        page.goto(base + "/beheer/inloggen")
        page.get_by_label("E-mailadres").fill(EMAIL)
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_url("**/inloggen/code")
        page.get_by_label("Code").fill(pyotp.TOTP(str(scene["secret"])).now())
        page.get_by_role("button", name="Verder").click()
        page.wait_for_url(lambda url: "/inloggen" not in url)
        for _ in range(runs):
            page.goto(dashboard)
            page.wait_for_selector("body[data-map-ready]", timeout=60_000)
            timings.append(
                float(page.evaluate("performance.getEntriesByName('map-drawn')[0].startTime"))
            )
            markers = int(page.get_attribute("#dashboard", "data-markers") or 0)
            page.wait_for_selector("body[data-volunteers-ready]", timeout=60_000)
            volunteers_drawn.append(
                float(
                    page.evaluate("performance.getEntriesByName('volunteers-drawn')[0].startTime")
                )
            )
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    live = []
    with httpx.Client(base_url=base, cookies=cookies) as client:
        url = f"/beheer/incidenten/{scene['incident_id']}/dashboard/live.json"
        for _ in range(20):
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            live.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        client.get(url + "?volledig=1")
        full_ms = (time.perf_counter() - started) * 1000
    return {
        "map_drawn_ms": timings,
        "map_drawn_cold_ms": timings[0],
        "map_drawn_warm_median_ms": statistics.median(timings[1:] or timings),
        "task_markers": markers,
        "volunteers_drawn_ms": volunteers_drawn,
        "volunteers_drawn_cold_ms": volunteers_drawn[0],
        "volunteers_drawn_warm_median_ms": statistics.median(
            volunteers_drawn[1:] or volunteers_drawn
        ),
        "live_json_median_ms": statistics.median(live),
        "live_json_full_ms": full_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--volunteers", type=int, default=200_000)
    parser.add_argument("--offers", type=int, default=36_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with postgres_database("bench_dashboard") as url:
        scene = populate(url, tasks=args.tasks, volunteers=args.volunteers, offers=args.offers)
        port = free_port()
        env = {
            "DATABASE_URL": url,
            "ZB_ENV": "development",
            "ZB_WORKER_IN_PROCESS": "false",
            "ZB_SECRET_KEY": "bench-dashboard-secret-key-0123456789abcdef",
            "ZB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        with server("brigades.app:served_app", env, port=port):
            found = measure(f"http://127.0.0.1:{port}", scene, args.runs)
    result = {
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "tasks": args.tasks,
        "volunteers": args.volunteers,
        "availability_windows": scene["windows"],
        "load_seconds": scene["load_seconds"],
        **{k: scene[k] for k in ("offers", "assignments", "audit_events", "outbox_messages")},
        "goal_ms": GOAL_MS,
        **found,
    }
    # Usable means both layers are in: the map with its markers and the volunteer aggregates.
    result["map_drawn_within_goal"] = result["map_drawn_warm_median_ms"] < GOAL_MS
    result["volunteers_drawn_within_goal"] = result["volunteers_drawn_warm_median_ms"] < GOAL_MS
    path = write_result("dashboard", result)
    hidden = ("machine", "map_drawn_ms", "volunteers_drawn_ms")
    row = {k: v for k, v in result.items() if k not in hidden}
    print_table([row], list(row))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
