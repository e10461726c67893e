"""Drill scenarios: what surge to replay, against which population, with which response model.

A scenario is a JSON file (``brigades/drills/scenarios/*.json`` ship with the project; a drill lead
may pass any path to the command line, or upload a file on the drill page). Every problem is
reported at once, in Dutch, with the field it concerns::

    {
      "name": "VR09 24 uur piek",
      "region": "VR09",                 # a Veiligheidsregio code, or "NL" for the whole country
      "hours": 24,                      # how long tasks keep arriving
      "tasks": 800,
      "mix": {"boodschappen": 0.6, "gezelschap": 0.2, "maaltijden": 0.2},
      "lead_minutes": [60, 360],        # from a task's arrival to the start of its window
      "window_minutes": 180,            # the task window (the work itself is the type's length)
      "two_slot_share": 0.1, "urgent_share": 0.1, "level": 2,
      "population": {"volunteers": 5000, "always_available_share": 0.3,
                     "vetting": [0.2, 0.4, 0.3, 0.1], "extra_skills": {"boodschappen": 0.3}},
      "response": {"answer": 0.75, "accept": 0.1, "accept_after_roll_call_yes": 0.45,
                   "roll_call_yes_share": 0.0, "delay_median_minutes": 6, "delay_spread": 0.9},
      "seed": 1
    }
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brigades.errors import InvalidInput

SCENARIO_DIR = Path(__file__).parent / "scenarios"
WHOLE_COUNTRY = "NL"
# The task types a scenario may ask for (the seeded catalogue, migration 0004).
TASK_TYPES = (
    "boodschappen",
    "maaltijden",
    "gezelschap",
    "telefonische_checkin",
    "vervoer_afspraak",
    "begeleiding_afspraak",
    "medicatieherinnering",
    "mantelzorg_hulp",
    "zorglocatie_ondersteuning",
    "lichte_persoonlijke_verzorging",
)
# An uploaded scenario file is a small JSON object; anything bigger is refused unread.
MAX_UPLOAD_BYTES = 64 * 1024
MAX_TASKS = 100_000
MAX_VOLUNTEERS = 500_000
MAX_HOURS = 168


class ScenarioInvalid(InvalidInput):
    """A scenario file with problems; ``problems`` lists every one of them (Dutch)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Het scenario klopt niet: " + "; ".join(problems), field="scenario")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Population:
    """The synthetic volunteers of a simulated surge."""

    volunteers: int
    always_available_share: float = 0.0
    # Share of vetting level 0, 1, 2, 3 (None: the demo population's own mix).
    vetting: tuple[float, float, float, float] | None = None
    # Skill code → extra share of volunteers who get it (self-declared).
    extra_skills: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Response:
    """How synthetic volunteers answer (see :mod:`brigades.drills.response`)."""

    answer: float = 0.75
    accept: float = 0.10
    accept_after_roll_call_yes: float = 0.45
    roll_call_yes_share: float = 0.0
    delay_median_minutes: float = 6.0
    delay_spread: float = 0.9


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario."""

    name: str
    region: str
    hours: float
    tasks: int
    mix: Mapping[str, float]
    population: Population
    response: Response
    lead_minutes: tuple[int, int] = (60, 360)
    window_minutes: int = 180
    two_slot_share: float = 0.0
    urgent_share: float = 0.0
    level: int = 2
    seed: int = 1
    description: str = ""
    key: str = ""  # the file's stem, for shipped scenarios

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions the scenario covers (all 25 for the whole country)."""
        from geo import load_reference_data

        if self.region == WHOLE_COUNTRY:
            return tuple(sorted(load_reference_data().regions))
        return (self.region,)


def shipped() -> list[str]:
    """The names of the scenarios that ship with the project."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.json"))


def load(name_or_path: str) -> Scenario:
    """A shipped scenario by name, or a JSON file by path; ScenarioInvalid lists every problem."""
    path = Path(name_or_path)
    if not path.suffix and (SCENARIO_DIR / f"{name_or_path}.json").exists():
        path = SCENARIO_DIR / f"{name_or_path}.json"
    if not path.is_file():
        known = ", ".join(shipped())
        raise ScenarioInvalid([f"scenario '{name_or_path}' niet gevonden (meegeleverd: {known})"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioInvalid(["het bestand is geen UTF-8-tekst"]) from exc
    return from_json(text, key=path.stem)


def from_json(text: str, *, key: str = "") -> Scenario:
    """A scenario from its JSON text; ScenarioInvalid lists every problem."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioInvalid([f"geen geldige JSON ({exc})"]) from exc
    return parse(raw, key=key)


def from_upload(data: bytes, *, filename: str) -> tuple[Scenario, str]:
    """An uploaded scenario file: the scenario and its JSON text to store (ScenarioInvalid,
    in Dutch, for a file that is too big, not UTF-8, not JSON or not a valid scenario)."""
    if not data:
        raise ScenarioInvalid(["het bestand is leeg"])
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioInvalid([f"het bestand is groter dan {MAX_UPLOAD_BYTES // 1024} kB"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioInvalid(["het bestand is geen UTF-8-tekst"]) from exc
    stem = Path(filename).stem
    key = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:60].strip("-")
    return from_json(text, key=key or "upload"), text


def parse(raw: Any, *, key: str = "") -> Scenario:
    """Validate a scenario's JSON; ScenarioInvalid lists every problem in Dutch."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ScenarioInvalid(["een scenario is een JSON-object met velden"])
    checker = _Checker(raw, problems, "")
    name = checker.text("name", required=True)
    region = checker.region("region")
    hours = checker.number("hours", 0.25, MAX_HOURS, default=24)
    tasks = int(checker.number("tasks", 1, MAX_TASKS, integer=True, required=True))
    mix = checker.mix("mix")
    lead = checker.pair("lead_minutes", default=(60, 360))
    window = int(checker.number("window_minutes", 15, 24 * 60, integer=True, default=180))
    two_slots = checker.number("two_slot_share", 0, 1, default=0)
    urgent = checker.number("urgent_share", 0, 1, default=0)
    level = int(checker.number("level", 1, 4, integer=True, default=2))
    seed = int(checker.number("seed", 0, 2**31, integer=True, default=1))
    description = checker.text("description", limit=500)
    population = _population(raw.get("population"), problems)
    response = _response(raw.get("response", {}), problems)
    checker.unknown(
        {
            "name",
            "description",
            "region",
            "hours",
            "tasks",
            "mix",
            "lead_minutes",
            "window_minutes",
            "two_slot_share",
            "urgent_share",
            "level",
            "seed",
            "population",
            "response",
        }
    )
    if problems or population is None or response is None:
        raise ScenarioInvalid(problems)
    return Scenario(
        name=name,
        region=region,
        hours=hours,
        tasks=tasks,
        mix=mix,
        population=population,
        response=response,
        lead_minutes=lead,
        window_minutes=window,
        two_slot_share=two_slots,
        urgent_share=urgent,
        level=level,
        seed=seed,
        description=description,
        key=key,
    )


def _population(raw: Any, problems: list[str]) -> Population | None:
    if not isinstance(raw, dict):
        problems.append("population: ontbreekt (een object met ten minste 'volunteers')")
        return None
    checker = _Checker(raw, problems, "population.")
    count = int(checker.number("volunteers", 1, MAX_VOLUNTEERS, integer=True, required=True))
    always = checker.number("always_available_share", 0, 1, default=0)
    vetting: tuple[float, float, float, float] | None = None
    if "vetting" in raw:
        value = raw["vetting"]
        if (
            not isinstance(value, list)
            or len(value) != 4
            or not all(isinstance(v, int | float) and v >= 0 for v in value)
            or sum(value) <= 0
        ):
            problems.append(
                "population.vetting: vier aandelen (niveau 0 t/m 3), niet negatief, samen meer "
                "dan 0"
            )
        else:
            total = float(sum(value))
            vetting = (value[0] / total, value[1] / total, value[2] / total, value[3] / total)
    extra: dict[str, float] = {}
    if "extra_skills" in raw:
        value = raw["extra_skills"]
        if not isinstance(value, dict):
            problems.append("population.extra_skills: een object vaardigheid → aandeel")
        else:
            for code, share in value.items():
                if not isinstance(share, int | float) or not 0 <= share <= 1:
                    problems.append(f"population.extra_skills.{code}: een aandeel tussen 0 en 1")
                else:
                    extra[str(code)] = float(share)
    checker.unknown({"volunteers", "always_available_share", "vetting", "extra_skills"})
    return Population(
        volunteers=count, always_available_share=always, vetting=vetting, extra_skills=extra
    )


def _response(raw: Any, problems: list[str]) -> Response | None:
    if not isinstance(raw, dict):
        problems.append("response: een object met kansen en vertraging")
        return None
    checker = _Checker(raw, problems, "response.")
    defaults = Response()
    response = Response(
        answer=checker.number("answer", 0, 1, default=defaults.answer),
        accept=checker.number("accept", 0, 1, default=defaults.accept),
        accept_after_roll_call_yes=checker.number(
            "accept_after_roll_call_yes", 0, 1, default=defaults.accept_after_roll_call_yes
        ),
        roll_call_yes_share=checker.number(
            "roll_call_yes_share", 0, 1, default=defaults.roll_call_yes_share
        ),
        delay_median_minutes=checker.number(
            "delay_median_minutes", 0.1, 24 * 60, default=defaults.delay_median_minutes
        ),
        delay_spread=checker.number("delay_spread", 0, 3, default=defaults.delay_spread),
    )
    checker.unknown(set(Response.__dataclass_fields__))
    return response


class _Checker:
    """Reads fields of one JSON object, collecting Dutch problems instead of stopping."""

    def __init__(self, raw: dict[str, Any], problems: list[str], prefix: str) -> None:
        self.raw = raw
        self.problems = problems
        self.prefix = prefix

    def _problem(self, key: str, text: str) -> None:
        self.problems.append(f"{self.prefix}{key}: {text}")

    def text(self, key: str, *, required: bool = False, limit: int = 120) -> str:
        value = self.raw.get(key)
        if value is None:
            if required:
                self._problem(key, "ontbreekt")
            return ""
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            self._problem(key, f"een tekst van 1 tot {limit} tekens")
            return ""
        return value.strip()

    def number(
        self,
        key: str,
        low: float,
        high: float,
        *,
        integer: bool = False,
        required: bool = False,
        default: float = 0,
    ) -> float:
        value = self.raw.get(key)
        if value is None:
            if required:
                self._problem(key, "ontbreekt")
            return default
        kind = "een geheel getal" if integer else "een getal"
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._problem(key, f"moet {kind} zijn")
            return default
        if integer and value != int(value):
            self._problem(key, f"moet {kind} zijn")
            return default
        if not low <= value <= high:
            self._problem(key, f"moet tussen {_fmt(low)} en {_fmt(high)} liggen")
            return default
        return float(value)

    def region(self, key: str) -> str:
        from geo import load_reference_data

        value = self.raw.get(key)
        if not isinstance(value, str):
            self._problem(key, "ontbreekt (een veiligheidsregio zoals VR09, of NL)")
            return WHOLE_COUNTRY
        code = value.strip().upper()
        if code != WHOLE_COUNTRY and code not in load_reference_data().regions:
            self._problem(key, f"onbekende veiligheidsregio '{value}'")
        return code

    def mix(self, key: str) -> dict[str, float]:
        value = self.raw.get(key)
        if not isinstance(value, dict) or not value:
            self._problem(key, 'ontbreekt (taaksoort → aandeel, bijv. {"boodschappen": 0.6})')
            return {}
        mix: dict[str, float] = {}
        for code, share in value.items():
            if code not in TASK_TYPES:
                self._problem(
                    f"{key}.{code}", f"onbekende taaksoort (bekend: {', '.join(TASK_TYPES)})"
                )
            elif isinstance(share, bool) or not isinstance(share, int | float) or share < 0:
                self._problem(f"{key}.{code}", "een aandeel van 0 of meer")
            else:
                mix[code] = float(share)
        total = sum(mix.values())
        if mix and total <= 0:
            self._problem(key, "de aandelen zijn samen 0")
            return {}
        if mix and abs(total - 1) > 0.01:
            self._problem(key, f"de aandelen tellen op tot {total:.2f} in plaats van 1")
        return mix

    def pair(self, key: str, *, default: tuple[int, int]) -> tuple[int, int]:
        value = self.raw.get(key)
        if value is None:
            return default
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not 0 <= value[0] <= value[1] <= 7 * 24 * 60
        ):
            self._problem(key, "twee hele minuten [van, tot], 0 ≤ van ≤ tot")
            return default
        return (value[0], value[1])

    def unknown(self, known: set[str]) -> None:
        for key in sorted(set(self.raw) - known):
            self._problem(key, "onbekend veld")


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
