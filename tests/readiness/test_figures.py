"""Readiness figures against counts computed independently here, from the same population."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

import geo
from brigades import clock as clock_module
from brigades.accounts.models import Role
from brigades.privacy import service as privacy
from brigades.readiness.models import Reconfirmation, ReconfirmationState
from brigades.skills.models import EvidenceKind
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import VolunteerStatus
from tests.accounts.factories import bearer, make_token, make_user, sign_in
from tests.readiness.factories import make_volunteer

SD = EvidenceKind.SELF_DECLARED
DIPLOMA = EvidenceKind.DIPLOMA
CARE = "lichte_persoonlijke_verzorging"  # needs verified evidence


@dataclass
class Spec:
    status: VolunteerStatus
    level: int
    skills: tuple[tuple[str, EvidenceKind, bool, int | None], ...]  # expires in days (None)
    windows: tuple[tuple[int, int, int], ...]
    old: bool = False  # signed up two years ago, never re-confirmed
    reconfirmed: bool = False  # ... but said JA last month
    synthetic: bool = False
    erased: bool = False


POPULATION = [
    Spec(VolunteerStatus.ACTIVE, 0, (("boodschappen", SD, False, None),), ((0, 540, 720),)),
    Spec(VolunteerStatus.ACTIVE, 1, (("boodschappen", SD, False, None),), ((5, 600, 660),)),
    Spec(VolunteerStatus.ACTIVE, 2, ((CARE, SD, False, None),), ((2, 1140, 1260),), old=True),
    Spec(VolunteerStatus.ACTIVE, 3, ((CARE, DIPLOMA, True, None),), ((3, 1380, 1440),)),
    Spec(VolunteerStatus.ACTIVE, 3, ((CARE, DIPLOMA, True, -1),), ((1, 0, 300),), old=True),
    Spec(
        VolunteerStatus.ACTIVE,
        1,
        (("boodschappen", SD, False, None), (CARE, EvidenceKind.TRAINING, True, 30)),
        ((6, 780, 900),),
        old=True,
        reconfirmed=True,
    ),
    Spec(VolunteerStatus.PAUSED, 1, (("boodschappen", SD, False, None),), ((0, 480, 600),)),
    Spec(VolunteerStatus.DORMANT, 0, (("boodschappen", SD, False, None),), (), old=True),
    Spec(VolunteerStatus.PENDING, 0, (("boodschappen", SD, False, None),), ()),
    Spec(VolunteerStatus.ACTIVE, 2, (("boodschappen", SD, False, None),), (), synthetic=True),
    Spec(VolunteerStatus.ACTIVE, 2, (("boodschappen", SD, False, None),), (), erased=True),
]
PARTS = {
    "werkdag_ochtend": ((0, 1, 2, 3, 4), ((480, 720),)),
    "werkdag_middag": ((0, 1, 2, 3, 4), ((720, 1080),)),
    "werkdag_avond": ((0, 1, 2, 3, 4), ((1080, 1320),)),
    "werkdag_nacht": ((0, 1, 2, 3, 4), ((1320, 1440), (0, 480))),
    "weekend_ochtend": ((5, 6), ((480, 720),)),
    "weekend_middag": ((5, 6), ((720, 1080),)),
    "weekend_avond": ((5, 6), ((1080, 1320),)),
    "weekend_nacht": ((5, 6), ((1320, 1440), (0, 480))),
}


def build(session: Session) -> None:
    now = clock_module.now()
    for spec in POPULATION:
        volunteer = make_volunteer(
            session,
            status=spec.status,
            level=spec.level,
            verified_at=now - timedelta(days=730) if spec.old else None,
            skills=tuple(
                (code, ev, verified, None if days is None else now + timedelta(days=days))
                for code, ev, verified, days in spec.skills
            ),
            windows=spec.windows,
            synthetic=spec.synthetic,
        )
        if spec.status is VolunteerStatus.PENDING:
            volunteer.phone_verified_at = None
            session.add(volunteer)
        if spec.reconfirmed:
            assert volunteer.id is not None
            session.add(
                Reconfirmation(
                    volunteer_id=volunteer.id,
                    state=ReconfirmationState.CONFIRMED,
                    interval_days=182,
                    asked_at=now - timedelta(days=35),
                    last_sent_at=now - timedelta(days=35),
                    answered_at=now - timedelta(days=30),
                )
            )
        if spec.erased:
            assert volunteer.id is not None
            privacy.erase_volunteer(session, volunteer_id=volunteer.id, now=now)
    session.commit()


def expected() -> dict[str, object]:
    counted = [
        s
        for s in POPULATION
        if not s.synthetic and not s.erased and s.status is not VolunteerStatus.PENDING
    ]
    active = [s for s in counted if s.status is VolunteerStatus.ACTIVE]

    def skill_counts(code: str) -> int:
        n = 0
        for s in active:
            for c, _ev, verified, days in s.skills:
                if c != code or (days is not None and days <= 0):
                    continue
                if code == "boodschappen" or verified:
                    n += 1
        return n

    def in_part(spec: Spec, days: tuple[int, ...], spans: tuple[tuple[int, int], ...]) -> bool:
        return any(
            d in days and any(a < end and b > start for start, end in spans)
            for d, a, b in spec.windows
        )

    inhabitants = sum(
        a.inwoners for a in geo.load_reference_data().pc4s.values() if a.vr_code == "VR09"
    )
    return {
        "verified": len(counted),
        "levels": {str(lvl): sum(1 for s in counted if s.level == lvl) for lvl in range(4)},
        "reconfirmed": sum(1 for s in counted if not s.old or s.reconfirmed),
        "available": len(active),
        "boodschappen": skill_counts("boodschappen"),
        "care": skill_counts(CARE),
        "parts": {k: sum(1 for s in active if in_part(s, *v)) for k, v in PARTS.items()},
        "inhabitants": inhabitants,
    }


def test_figures_match_an_independent_count(
    client: TestClient, session: Session, clock: clock_module.ManualClock
) -> None:
    build(session)
    coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
    sign_in(client, session, coordinator)
    page = client.get("/beheer/paraatheid/doelen?regio=VR09")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    saved = client.post(
        "/beheer/paraatheid/doelen",
        data={"csrf_token": token, "vr_code": "VR09", "target_boodschappen": "20"},
        follow_redirects=False,
    )
    assert saved.status_code == 303

    api_token, _ = make_token(session, coordinator)
    body = client.get("/api/v1/readiness?level=vr", headers=bearer(api_token)).json()
    [area] = body["areas"]
    want = expected()
    assert area["code"] == "VR09" and area["inhabitants"] == want["inhabitants"]
    assert area["verified"] == want["verified"]
    assert area["by_vetting_level"] == want["levels"]
    assert area["reconfirmed_recently"] == want["reconfirmed"]
    assert area["available"] == want["available"]
    assert area["available_per_week_part"] == {k: v for k, v in want["parts"].items() if v}  # type: ignore[union-attr]
    skills = {s["code"]: s for s in area["skills"]}
    assert skills["boodschappen"]["available"] == want["boodschappen"]
    assert skills[CARE]["available"] == want["care"]
    required = math.ceil(20 * int(want["inhabitants"]) / 10_000)  # type: ignore[call-overload]
    assert skills["boodschappen"]["required"] == required
    assert skills["boodschappen"]["shortfall"] == required - int(want["boodschappen"])  # type: ignore[call-overload]
    assert body["shortfalls"][0]["skill_code"] == "boodschappen"

    gemeenten = client.get("/api/v1/readiness?level=gemeente", headers=bearer(api_token)).json()
    utrecht = next(a for a in gemeenten["areas"] if a["code"] == "GM0344")
    assert utrecht["verified"] == want["verified"]
    assert gemeenten["areas"][0]["shortfall"] >= gemeenten["areas"][-1]["shortfall"]

    csv_text = client.get("/beheer/paraatheid.csv?niveau=vr").content.decode("utf-8-sig")
    row = next(line for line in csv_text.splitlines() if ";boodschappen;" in line)
    assert row.split(";")[-1] == str(required - int(want["boodschappen"]))  # type: ignore[call-overload]

    html = client.get("/beheer/paraatheid").text
    assert html.index("Tekorten") < html.index("Overzicht")


def test_the_pc4_layer_suppresses_small_counts(
    client: TestClient, session: Session, clock: clock_module.ManualClock
) -> None:
    for _ in range(5):
        make_volunteer(session, pc4=3584)
    for _ in range(2):
        make_volunteer(session, pc4=3512)
    for _ in range(6):
        make_volunteer(session, pc4=3511, synthetic=True)
    viewer = make_user(session, role=Role.VIEWER, vr_codes=("VR09",))
    token, _ = make_token(session, viewer)
    layer = client.get("/api/v1/readiness/pc4.geojson", headers=bearer(token)).json()
    cells = {f["properties"]["pc4"]: f["properties"]["available"] for f in layer["features"]}
    assert cells == {3584: 5}
    assert layer["suppressed"] == {"volunteers": 2, "areas": 1, "min_count": 5}


def test_a_region_outside_the_scope_is_not_shown(
    client: TestClient, session: Session, clock: clock_module.ManualClock
) -> None:
    make_volunteer(session, vr_code="VR13")
    viewer = make_user(session, role=Role.VIEWER, vr_codes=("VR09",))
    token, _ = make_token(session, viewer)
    body = client.get("/api/v1/readiness", headers=bearer(token)).json()
    assert [a["code"] for a in body["areas"]] == ["VR09"]
    assert body["areas"][0]["verified"] == 0


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def test_figures_per_buurtsteunpunt_and_gemeente_match_an_independent_count(
    client: TestClient, session: Session, clock: clock_module.ManualClock
) -> None:
    now = clock_module.now()
    points = {
        "dom": SupportPoint(
            name="Steunpunt Dom", postcode="3511 AA", lat=52.0907, lon=5.1214,
            gm_code="GM0344", vr_code="VR09", created_at=now,
        ),
        "eem": SupportPoint(
            name="Steunpunt Eem", postcode="3811 AA", lat=52.1561, lon=5.3878,
            gm_code="GM0307", vr_code="VR09", created_at=now,
        ),
        "dicht": SupportPoint(
            name="Steunpunt Dicht", postcode="3581 AA", lat=52.09, lon=5.13,
            gm_code="GM0344", vr_code="VR09", active=False, created_at=now,
        ),
    }  # fmt: skip
    for point in points.values():
        session.add(point)
    session.flush()
    dom, eem = points["dom"].id, points["eem"].id
    shop = (("boodschappen", SD, False, None),)
    # (point, gemeente, status, level, skills)
    people = [
        (dom, "GM0344", VolunteerStatus.ACTIVE, 0, shop),
        (dom, "GM0344", VolunteerStatus.ACTIVE, 1, shop),
        (dom, "GM0355", VolunteerStatus.ACTIVE, 2, ()),
        (dom, "GM0355", VolunteerStatus.PAUSED, 2, shop),
        (eem, "GM0307", VolunteerStatus.ACTIVE, 3, shop),
        (eem, "GM0307", VolunteerStatus.DORMANT, 1, shop),
        (points["dicht"].id, "GM0344", VolunteerStatus.ACTIVE, 0, shop),
    ]
    for point_id, gm_code, status, level, skills in people:
        volunteer = make_volunteer(
            session, status=status, level=level, skills=skills, support_point_id=point_id
        )
        volunteer.gm_code = gm_code
        session.add(volunteer)
    coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
    session.commit()
    sign_in(client, session, coordinator)
    page = client.get("/beheer/paraatheid/doelen?regio=VR09")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/beheer/paraatheid/doelen",
        data={"csrf_token": token, "vr_code": "VR09", "target_boodschappen": "2"},
    )
    api_token, _ = make_token(session, coordinator)

    # Inhabitants of a point: the PC4 areas of its region nearer to it than to any other
    # active point there.
    active = [p for p in points.values() if p.active]
    inhabitants = dict.fromkeys([dom, eem], 0)
    for area in geo.load_reference_data().pc4s.values():
        if area.vr_code == "VR09":
            nearest = min(active, key=lambda p: _km(area.lat, area.lon, p.lat, p.lon))
            inhabitants[nearest.id] += area.inwoners
    want = {
        dom: {"verified": 4, "levels": [1, 1, 2, 0], "available": 3, "shop": 2},
        eem: {"verified": 2, "levels": [0, 1, 0, 1], "available": 1, "shop": 1},
    }
    body = client.get("/api/v1/readiness?level=steunpunt", headers=bearer(api_token)).json()
    areas = {int(a["code"]): a for a in body["areas"]}
    assert set(areas) == {dom, eem}  # the inactive point is not an area
    for point_id, figures in want.items():
        area = areas[point_id]
        assert area["inhabitants"] == inhabitants[point_id]
        assert area["verified"] == figures["verified"]
        assert [area["by_vetting_level"][str(lvl)] for lvl in range(4)] == figures["levels"]
        assert area["available"] == figures["available"]
        [shop_figure] = [s for s in area["skills"] if s["code"] == "boodschappen"]
        required = math.ceil(2 * inhabitants[point_id] / 10_000)
        assert shop_figure["available"] == figures["shop"]
        assert shop_figure["shortfall"] == max(0, required - int(figures["shop"]))
    listed = [(int(f["area_code"]), f["shortfall"]) for f in body["shortfalls"]]
    assert listed == sorted(listed, key=lambda x: -x[1]) and len(listed) == 2

    gemeenten = client.get("/api/v1/readiness?level=gemeente", headers=bearer(api_token)).json()
    by_code = {a["code"]: a for a in gemeenten["areas"]}
    assert by_code["GM0344"]["verified"] == 3 and by_code["GM0344"]["available"] == 3
    assert by_code["GM0355"]["verified"] == 2 and by_code["GM0355"]["available"] == 1
    assert by_code["GM0355"]["by_vetting_level"]["2"] == 2
    assert by_code["GM0307"]["verified"] == 2 and by_code["GM0307"]["by_vetting_level"]["3"] == 1
    zeist = sum(
        a.inwoners for a in geo.load_reference_data().pc4s.values() if a.gm_code == "GM0355"
    )
    assert by_code["GM0355"]["inhabitants"] == zeist

    # A buurtsteunpunt coordinator sees their own point only, whatever level is asked.
    local = make_user(session, role=Role.SUPPORT_POINT_COORDINATOR, support_point_ids=(eem,))
    local_token, _ = make_token(session, local)
    mine = client.get("/api/v1/readiness?level=vr", headers=bearer(local_token)).json()
    assert mine["level"] == "steunpunt"
    assert [(a["code"], a["verified"]) for a in mine["areas"]] == [(str(eem), 2)]


def test_the_api_csv_has_the_json_figures_one_row_per_area_and_skill(
    client: TestClient, session: Session, clock: clock_module.ManualClock
) -> None:
    build(session)
    coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
    token, _ = make_token(session, coordinator)
    body = client.get("/api/v1/readiness?level=vr", headers=bearer(token)).json()
    response = client.get("/api/v1/readiness/export.csv?level=vr", headers=bearer(token))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    lines = response.content.decode("utf-8-sig").splitlines()
    header = lines[0].split(";")
    rows = [dict(zip(header, line.split(";"), strict=True)) for line in lines[1:]]
    [area] = body["areas"]
    assert len(rows) == len(area["skills"])
    for row, skill in zip(rows, area["skills"], strict=True):
        assert row["gebied_code"] == "VR09" and row["vaardigheid"] == skill["code"]
        assert int(row["geverifieerd"]) == area["verified"]
        assert int(row["recent_bevestigd"]) == area["reconfirmed_recently"]
        assert [int(row[f"niveau_{lvl}"]) for lvl in range(4)] == [
            area["by_vetting_level"][str(lvl)] for lvl in range(4)
        ]
        assert int(row["beschikbaar_vaardigheid"]) == skill["available"]
        assert int(row["tekort"]) == skill["shortfall"]
    assert client.get("/api/v1/readiness/export.csv").status_code == 401


def test_the_page_map_shows_the_region_and_the_pc4_layer_without_small_counts(
    client: TestClient, session: Session, clock: clock_module.ManualClock
) -> None:
    for _ in range(5):
        make_volunteer(session, pc4=3584)
    for _ in range(2):
        make_volunteer(session, pc4=3512)
    make_volunteer(session, vr_code="VR13", pc4=1012)
    coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
    sign_in(client, session, coordinator)
    page = client.get("/beheer/paraatheid")
    assert 'id="dekking"' in page.text and "readiness.js" in page.text
    assert 'data-url="/beheer/paraatheid/kaart.geojson"' in page.text

    layer = client.get("/beheer/paraatheid/kaart.geojson")
    assert layer.status_code == 200
    assert layer.headers["content-type"].startswith("application/geo+json")
    kinds = [f["properties"]["kind"] for f in layer.json()["features"]]
    assert kinds == ["region", "pc4"]
    region, cell = layer.json()["features"]
    assert region["properties"]["vr_code"] == "VR09"
    assert region["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert cell["properties"]["pc4"] == 3584 and cell["properties"]["available"] == 5
    assert set(cell["properties"]) == {"kind", "pc4", "available", "inhabitants", "per_10k"}
    assert layer.json()["suppressed"]["volunteers"] == 2
    client.cookies.clear()
    assert client.get("/beheer/paraatheid/kaart.geojson").status_code in (303, 401)
