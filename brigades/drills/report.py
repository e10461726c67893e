"""The after-action report of a drill, computed from the database rows of its incident(s).

The same computation serves a simulated surge (its scratch database) and a live or roll-call drill
(the drill incident in the real database); only the drill's own rows are read. The report is a
plain JSON-able :class:`Report` (stored on :class:`~brigades.drills.models.DrillRun`), rendered as
an HTML page with inline SVG charts (:mod:`brigades.drills.charts`) and as CSV files.

Definitions (what the numbers mean, also shown on the page):

- *sent*: the drill's asking messages (offers and roll-calls) the outbox is done with: handed to
  a provider, or given up on (failed); still queued ones do not count yet. *delivered*: of those,
  reported delivered by the provider (the console provider of a simulation counts a send as
  delivered); *reach* = delivered / sent. The roll-call's reach is also shown on its own;
- *response rate*: offers answered (JA, NEE, or JA too late) / offers made that reached the phone
  (not failed);
- *time to the n-th acceptance*: from the drill's start (incident opened) to the n-th assignment;
- *roll-call answers*: time from the roll-call's start to its first answer, the median time a
  volunteer took to answer their roll-call question, and asked / answered over time;
- *fill rate* at a moment: slots filled by then / slots of the tasks that had arrived by then;
- *unfillable*: tasks marked unfillable (with the dispatcher's reason) and tasks whose window
  passed with open slots ("venster verstreken");
- *coverage*: slots and filled slots per gemeente and per buurtsteunpunt (the one nearest the task);
- *messages per filled task*: every message of the drill (offers, acceptance texts, roll-calls,
  replies to the drill's questions, stand-down notices) / tasks with every slot filled;
- *over the caps*: volunteers who, on a day the drill asked them, got more offers or accepted more
  tasks than the caps allow, counted the way the dispatcher counts them (the drill's caps scope:
  other drills, and real incidents too when the drill lead chose shared caps).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from brigades import clock
from brigades.dispatch import eligibility, rollcall
from brigades.dispatch.eligibility import CapScope
from brigades.dispatch.models import RollCall
from brigades.dispatch.repository import OFFER_SUBJECT, ROLL_CALL_SUBJECT
from brigades.drills import measures
from brigades.incidents import levels
from brigades.incidents.models import Incident
from brigades.settings import Settings
from brigades.supportpoints.models import SupportPoint
from brigades.tasks.models import (
    Assignment,
    AssignmentState,
    CareTask,
    Offer,
    OfferState,
    TaskState,
)
from geo import PointIndex, load_reference_data

MILESTONES = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
SERIES_STEP = timedelta(minutes=30)
ANSWERED = (OfferState.ACCEPTED, OfferState.DECLINED, OfferState.TOO_LATE)
EXPIRED_REASON = "venster verstreken met open plekken"


@dataclass(slots=True)
class CoverageRow:
    """Slots and filled slots of one area (a gemeente or a buurtsteunpunt)."""

    code: str
    name: str
    tasks: int
    slots: int
    filled: int

    @property
    def fill_rate(self) -> float:
        return self.filled / self.slots if self.slots else 0.0


@dataclass(slots=True)
class Report:
    """The after-action report's figures (JSON-able; see the module doc for the definitions)."""

    title: str
    scenario: str
    regions: list[str]
    started_at: str
    ended_at: str
    volunteers: int
    tasks: int
    slots: int
    slots_filled: int
    tasks_filled: int
    offers: int
    offers_answered: int
    offers_accepted: int
    offers_failed: int
    messages_sent: int
    messages_delivered: int
    drill_messages: int
    drill_messages_without_prefix: int
    # [(n, minutes from the start)] for the milestones reached.
    acceptance_minutes: list[tuple[int, float]]
    # [(minutes from the start, slots so far, filled so far)] every SERIES_STEP.
    fill_series: list[tuple[float, int, int]]
    unfillable: list[tuple[str, int]]
    gemeenten: list[CoverageRow]
    support_points: list[CoverageRow]
    over_caps: int
    offers_cap: int
    wall_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    # Roll-calls of the drill (a roll-call drill's figures): asked, sent, JA, NEE.
    roll_call_recipients: int = 0
    roll_call_sent: int = 0
    roll_call_yes: int = 0
    roll_call_no: int = 0
    # Added later: reports stored before read these defaults.
    messages_total: int = 0
    roll_call_messages_sent: int = 0
    roll_call_messages_delivered: int = 0
    roll_call_first_answer_minutes: float | None = None
    roll_call_median_answer_minutes: float | None = None
    # [(minutes from the roll-call's start, asked so far, answered so far)] every SERIES_STEP.
    roll_call_series: list[tuple[float, int, int]] = field(default_factory=list)
    assignments_cap: int = 0

    @property
    def reach(self) -> float:
        return self.messages_delivered / self.messages_sent if self.messages_sent else 0.0

    @property
    def response_rate(self) -> float:
        reachable = self.offers - self.offers_failed
        return self.offers_answered / reachable if reachable else 0.0

    @property
    def fill_rate(self) -> float:
        return self.slots_filled / self.slots if self.slots else 0.0

    @property
    def roll_call_reach(self) -> float:
        sent = self.roll_call_messages_sent
        return self.roll_call_messages_delivered / sent if sent else 0.0

    @property
    def messages_per_filled_task(self) -> float | None:
        # Reports stored before every message was counted have only their offers.
        messages = self.messages_total or self.offers
        return messages / self.tasks_filled if self.tasks_filled else None

    @property
    def first_acceptance_minutes(self) -> float | None:
        return self.acceptance_minutes[0][1] if self.acceptance_minutes else None

    @property
    def unfillable_total(self) -> int:
        return sum(n for _, n in self.unfillable)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Report:
        raw: dict[str, Any] = json.loads(text)
        raw["acceptance_minutes"] = [tuple(x) for x in raw["acceptance_minutes"]]
        raw["fill_series"] = [tuple(x) for x in raw["fill_series"]]
        raw["unfillable"] = [tuple(x) for x in raw["unfillable"]]
        raw["gemeenten"] = [CoverageRow(**r) for r in raw["gemeenten"]]
        raw["support_points"] = [CoverageRow(**r) for r in raw["support_points"]]
        raw["roll_call_series"] = [tuple(x) for x in raw.get("roll_call_series", [])]
        return cls(**raw)


def build(
    session: Session,
    *,
    incident_ids: list[int],
    settings: Settings,
    title: str,
    scenario: str = "",
    volunteers: int = 0,
    until: datetime | None = None,
    wall_seconds: float | None = None,
) -> Report:
    """Compute the report of the drill incidents ``incident_ids`` (see the module doc)."""
    incidents = list(session.exec(select(Incident).where(col(Incident.id).in_(incident_ids))))
    start = min((clock.as_utc(i.opened_at) for i in incidents), default=clock.now())
    end = clock.as_utc(until) if until else clock.now()
    tasks = list(
        session.exec(
            select(CareTask)
            .where(col(CareTask.incident_id).in_(incident_ids))
            .order_by(col(CareTask.id))
        )
    )
    task_ids = [t.id for t in tasks if t.id is not None]
    offers: list[Offer] = []
    assignments: list[Assignment] = []
    for chunk in measures.chunks(task_ids):
        offers += session.exec(select(Offer).where(col(Offer.task_id).in_(chunk)))
        assignments += session.exec(select(Assignment).where(col(Assignment.task_id).in_(chunk)))
    assignments.sort(key=lambda a: (clock.as_utc(a.assigned_at), a.id or 0))
    live = [a for a in assignments if a.state is not AssignmentState.CANCELLED]
    filled_of: Counter[int | None] = Counter(a.task_id for a in live)
    offer_ids = [o.id for o in offers if o.id is not None]
    roll_calls = list(
        session.exec(
            select(RollCall)
            .where(col(RollCall.incident_id).in_(incident_ids))
            .order_by(col(RollCall.id))
        )
    )
    roll_call_ids = [r.id for r in roll_calls if r.id is not None]
    offer_messages = measures.about(session, OFFER_SUBJECT, offer_ids)
    poll_messages = measures.about(session, ROLL_CALL_SUBJECT, roll_call_ids)
    asking = [m for m in (*offer_messages, *poll_messages) if m.sent]
    everything = measures.all_messages(
        session,
        incidents=incidents,
        offers=offers,
        assignment_ids=[a.id for a in assignments if a.id is not None],
        roll_call_ids=roll_call_ids,
    )
    acceptance = []
    for n in MILESTONES:
        if len(assignments) >= n:
            at = clock.as_utc(assignments[n - 1].assigned_at)
            acceptance.append((n, round((at - start).total_seconds() / 60, 1)))
    polls = _roll_calls(session, roll_calls, now=end)
    answers = measures.roll_call_answers(
        session,
        roll_call_ids,
        start=min((clock.as_utc(r.opened_at) for r in roll_calls), default=start),
        end=end,
        step=SERIES_STEP,
    )
    level = max((i.level for i in incidents), default=1)
    cap = levels.dispatch_settings(settings, level).offers_per_volunteer_per_day
    scope = eligibility.cap_scope(session, incidents[0]) if incidents else CapScope.DRILL
    return Report(
        title=title,
        scenario=scenario,
        regions=sorted({i.vr_code for i in incidents}),
        started_at=start.isoformat(),
        ended_at=end.isoformat(),
        volunteers=volunteers,
        tasks=len(tasks),
        slots=sum(t.slots for t in tasks),
        slots_filled=sum(min(filled_of[t.id], t.slots) for t in tasks),
        tasks_filled=sum(1 for t in tasks if filled_of[t.id] >= t.slots),
        offers=len(offers),
        offers_answered=sum(1 for o in offers if o.state in ANSWERED),
        offers_accepted=sum(1 for o in offers if o.state is OfferState.ACCEPTED),
        offers_failed=sum(1 for o in offers if o.state is OfferState.FAILED),
        messages_sent=len(asking),
        messages_delivered=sum(1 for m in asking if m.delivered),
        drill_messages=len(everything),
        drill_messages_without_prefix=sum(
            1 for m in everything if not m.body.startswith("OEFENING")
        ),
        acceptance_minutes=acceptance,
        fill_series=_fill_series(tasks, live, start=start, end=end),
        unfillable=_unfillable(tasks, filled_of, end=end),
        gemeenten=_by_gemeente(tasks, filled_of),
        support_points=_by_support_point(session, tasks, filled_of),
        over_caps=measures.over_caps(
            session,
            offers=offers,
            scope=scope,
            offers_cap=cap,
            assignments_cap=settings.dispatch_assignments_per_day,
        ),
        offers_cap=cap,
        wall_seconds=wall_seconds,
        roll_call_recipients=polls[0],
        roll_call_sent=polls[1],
        roll_call_yes=polls[2],
        roll_call_no=polls[3],
        messages_total=len(everything),
        roll_call_messages_sent=sum(1 for m in poll_messages if m.sent),
        roll_call_messages_delivered=sum(1 for m in poll_messages if m.sent and m.delivered),
        roll_call_first_answer_minutes=answers.first_answer_minutes,
        roll_call_median_answer_minutes=answers.median_answer_minutes,
        roll_call_series=answers.series,
        assignments_cap=settings.dispatch_assignments_per_day,
    )


def _roll_calls(
    session: Session, roll_calls: list[RollCall], *, now: datetime
) -> tuple[int, int, int, int]:
    """Recipients, sent, JA and NEE over the drill's roll-calls."""
    totals = [0, 0, 0, 0]
    for roll_call in roll_calls:
        status = rollcall.status(session, roll_call, now=now)
        for i, value in enumerate((roll_call.recipients, roll_call.sent, status.yes, status.no)):
            totals[i] += value
    return totals[0], totals[1], totals[2], totals[3]


def _fill_series(
    tasks: list[CareTask], live: list[Assignment], *, start: datetime, end: datetime
) -> list[tuple[float, int, int]]:
    arrivals = sorted((clock.as_utc(t.created_at), t.slots) for t in tasks)
    fills = sorted(clock.as_utc(a.assigned_at) for a in live)
    series: list[tuple[float, int, int]] = []
    moment = start
    slots = filled = i = j = 0
    while True:
        while i < len(arrivals) and arrivals[i][0] <= moment:
            slots += arrivals[i][1]
            i += 1
        while j < len(fills) and fills[j] <= moment:
            filled += 1
            j += 1
        series.append((round((moment - start).total_seconds() / 60, 1), slots, filled))
        if moment >= end:
            break
        moment = min(moment + SERIES_STEP, end)
    return series


def _unfillable(
    tasks: list[CareTask], filled_of: Counter[int | None], *, end: datetime
) -> list[tuple[str, int]]:
    reasons: Counter[str] = Counter()
    for task in tasks:
        if task.state is TaskState.UNFILLABLE:
            reasons[_reason_kind(task.unfillable_reason or "")] += 1
        elif filled_of[task.id] < task.slots and clock.as_utc(task.window_end) <= end:
            reasons[EXPIRED_REASON] += 1
    return sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))


def _reason_kind(reason: str) -> str:
    """The dispatcher's reason with its numbers blanked ("binnen … km"): equal causes group."""
    return re.sub(r"\d+(?:[.,]\d+)?", "…", reason).strip()[:160] or "onbekend"


def _by_gemeente(tasks: list[CareTask], filled_of: Counter[int | None]) -> list[CoverageRow]:
    names = {g.code: g.name for g in load_reference_data().gemeenten.values()}
    rows: dict[str, CoverageRow] = {}
    for task in tasks:
        row = rows.setdefault(
            task.gm_code, CoverageRow(task.gm_code, names.get(task.gm_code, task.gm_code), 0, 0, 0)
        )
        row.tasks += 1
        row.slots += task.slots
        row.filled += min(filled_of[task.id], task.slots)
    return sorted(rows.values(), key=lambda r: (r.fill_rate, -r.slots, r.code))


def _by_support_point(
    session: Session, tasks: list[CareTask], filled_of: Counter[int | None]
) -> list[CoverageRow]:
    regions = {t.vr_code for t in tasks}
    points = list(session.exec(select(SupportPoint).where(col(SupportPoint.vr_code).in_(regions))))
    if not points:
        return []
    index = PointIndex.from_points((p.id or 0, p.lat, p.lon) for p in points)
    names = {p.id or 0: p.name for p in points}
    rows: dict[int, CoverageRow] = {}
    for task in tasks:
        nearest = index.nearest(task.lat, task.lon, 1)
        if not nearest:
            continue
        point = nearest[0].id
        row = rows.setdefault(point, CoverageRow(str(point), names[point], 0, 0, 0))
        row.tasks += 1
        row.slots += task.slots
        row.filled += min(filled_of[task.id], task.slots)
    return sorted(rows.values(), key=lambda r: (r.fill_rate, -r.slots, r.code))


# --- CSV --------------------------------------------------------------------------------------


def csv_files(report: Report) -> dict[str, str]:
    """The report as CSV files (name → text), for spreadsheets."""
    files: dict[str, list[list[Any]]] = {
        "samenvatting.csv": [["meting", "waarde"], *[list(r) for r in summary_rows(report)]],
        "vulgraad.csv": [
            ["minuten", "plekken", "gevuld", "vulgraad"],
            *[[m, s, f, round(f / s, 4) if s else 0] for m, s, f in report.fill_series],
        ],
        "toezeggingen.csv": [
            ["n-de toezegging", "minuten"],
            *[[n, m] for n, m in report.acceptance_minutes],
        ],
        "oproep_antwoorden.csv": [
            ["minuten", "gevraagd", "beantwoord", "aandeel beantwoord"],
            *[[m, a, b, round(b / a, 4) if a else 0] for m, a, b in report.roll_call_series],
        ],
        "onvervulbaar.csv": [["reden", "taken"], *[[r, n] for r, n in report.unfillable]],
        "dekking_gemeente.csv": _coverage_rows("gemeente", report.gemeenten),
        "dekking_buurtsteunpunt.csv": _coverage_rows("buurtsteunpunt", report.support_points),
    }
    out: dict[str, str] = {}
    for name, rows in files.items():
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=";", lineterminator="\n").writerows(rows)
        out[name] = buffer.getvalue()
    return out


def _coverage_rows(label: str, rows: list[CoverageRow]) -> list[list[Any]]:
    return [
        ["code", label, "taken", "plekken", "gevuld", "vulgraad"],
        *[[r.code, r.name, r.tasks, r.slots, r.filled, round(r.fill_rate, 4)] for r in rows],
    ]


def summary_rows(report: Report) -> list[tuple[str, Any]]:
    """The headline figures as (Dutch label, value) rows (page, CSV and comparison)."""

    def pct(x: float) -> str:
        return f"{100 * x:.1f}%"

    def minutes(x: float | None) -> str:
        return "—" if x is None else f"{x:.1f}"

    first = report.first_acceptance_minutes
    per_task = report.messages_per_filled_task
    polls: list[tuple[str, Any]] = []
    if report.roll_call_recipients or report.roll_call_sent:
        answered = report.roll_call_yes + report.roll_call_no
        polls = [
            ("Oproep: ontvangers", report.roll_call_recipients),
            ("Oproep: verstuurd", report.roll_call_sent),
            ("Oproep: afgeleverd", report.roll_call_messages_delivered),
            (
                "Oproep: bereik (afgeleverd / verstuurd)",
                pct(report.roll_call_reach) if report.roll_call_messages_sent else "—",
            ),
            ("Oproep: JA", report.roll_call_yes),
            ("Oproep: NEE", report.roll_call_no),
            (
                "Oproep: responspercentage",
                pct(answered / report.roll_call_sent) if report.roll_call_sent else "—",
            ),
            ("Oproep: eerste antwoord na (min)", minutes(report.roll_call_first_answer_minutes)),
            ("Oproep: mediane antwoordtijd (min)", minutes(report.roll_call_median_answer_minutes)),
        ]
    rows: list[tuple[str, Any]] = [
        ("Vrijwilligers", report.volunteers),
        ("Taken", report.tasks),
        ("Plekken", report.slots),
        ("Plekken gevuld", report.slots_filled),
        ("Vulgraad", pct(report.fill_rate)),
        ("Aanbiedingen", report.offers),
        ("Vragen verstuurd (aanbiedingen en oproepen)", report.messages_sent),
        ("Vragen afgeleverd", report.messages_delivered),
        ("Bereik (afgeleverd / verstuurd)", pct(report.reach)),
        ("Responspercentage", pct(report.response_rate)),
        ("Eerste toezegging na (min)", minutes(first)),
        ("Berichten van de oefening in totaal", report.messages_total or report.offers),
        ("Berichten per gevulde taak", "—" if per_task is None else f"{per_task:.1f}"),
        ("Onvervulbare taken", report.unfillable_total),
        ("Vaker gevraagd dan de limiet toestaat", report.over_caps),
        ("Oefenberichten zonder OEFENING", report.drill_messages_without_prefix),
    ]
    return [*polls, *rows]
