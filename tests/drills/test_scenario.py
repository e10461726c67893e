"""Scenario files: the shipped ones load, and a broken one lists every problem in Dutch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brigades.drills import scenario
from brigades.drills.response import ResponseModel

GOOD = {
    "name": "Test",
    "region": "VR09",
    "tasks": 10,
    "mix": {"boodschappen": 0.5, "gezelschap": 0.5},
    "population": {"volunteers": 100},
}


def test_the_shipped_scenarios_are_valid() -> None:
    names = scenario.shipped()
    assert {"klein", "vr09-24u-piek", "vr09-24u-50k"} <= set(names)
    for name in names:
        loaded = scenario.load(name)
        assert loaded.key == name
        assert abs(sum(loaded.mix.values()) - 1) <= 0.01
    country = scenario.load("nl-landelijk-24u")
    assert country.region == scenario.WHOLE_COUNTRY and len(country.regions) == 25
    assert (country.tasks, country.population.volunteers) == (3000, 40_000)
    surge = scenario.load("vr09-24u-50k")
    assert (surge.hours, surge.tasks, surge.population.volunteers) == (24, 800, 50_000)
    assert surge.mix["boodschappen"] == 0.6 and surge.mix["gezelschap"] == 0.2


def test_defaults_fill_what_a_scenario_leaves_out() -> None:
    parsed = scenario.parse(GOOD)
    assert parsed.hours == 24 and parsed.level == 2 and parsed.response.accept == 0.1
    assert parsed.regions == ("VR09",)
    assert len(scenario.parse({**GOOD, "region": "nl"}).regions) == 25


def test_every_problem_is_reported_at_once_in_dutch() -> None:
    broken = {
        "region": "VR99",
        "tasks": 0,
        "hours": "veel",
        "mix": {"boodschappen": 0.5, "ruimtevaart": 0.5},
        "lead_minutes": [300, 60],
        "population": {"volunteers": 10, "vetting": [1, 2]},
        "response": {"accept": 1.5},
        "kleur": "blauw",
    }
    with pytest.raises(scenario.ScenarioInvalid) as caught:
        scenario.parse(broken)
    problems = caught.value.problems
    assert "name: ontbreekt" in problems
    assert "region: onbekende veiligheidsregio 'VR99'" in problems
    assert "tasks: moet tussen 1 en 100000 liggen" in problems
    assert "hours: moet een getal zijn" in problems
    assert any(p.startswith("mix.ruimtevaart: onbekende taaksoort") for p in problems)
    assert any(p.startswith("lead_minutes: twee hele minuten") for p in problems)
    assert any(p.startswith("population.vetting: vier aandelen") for p in problems)
    assert "response.accept: moet tussen 0 en 1 liggen" in problems
    assert "kleur: onbekend veld" in problems
    assert caught.value.status_code == 422
    assert caught.value.message.startswith("Het scenario klopt niet: ")


def test_shares_must_add_up_and_files_must_exist(tmp_path: Path) -> None:
    with pytest.raises(scenario.ScenarioInvalid) as caught:
        scenario.parse({**GOOD, "mix": {"boodschappen": 0.5, "gezelschap": 0.3}})
    assert caught.value.problems == ["mix: de aandelen tellen op tot 0.80 in plaats van 1"]
    with pytest.raises(scenario.ScenarioInvalid) as missing:
        scenario.load("bestaat-niet")
    assert "niet gevonden" in missing.value.problems[0]
    bad_json = tmp_path / "kapot.json"
    bad_json.write_text("{niet: json", encoding="utf-8")
    with pytest.raises(scenario.ScenarioInvalid) as broken:
        scenario.load(str(bad_json))
    assert "geen geldige JSON" in broken.value.problems[0]
    good = tmp_path / "eigen.json"
    good.write_text(json.dumps(GOOD), encoding="utf-8")
    assert scenario.load(str(good)).key == "eigen"


def test_the_response_model_is_seeded_and_near_its_rates() -> None:
    response = scenario.parse(
        {
            **GOOD,
            "response": {
                "answer": 0.6,
                "accept": 0.1,
                "roll_call_yes_share": 0.5,
                "accept_after_roll_call_yes": 0.6,
            },
        }
    ).response
    people = list(range(1, 4001))
    model = ResponseModel.for_population(response, seed=4, volunteer_ids=people)
    again = ResponseModel.for_population(response, seed=4, volunteer_ids=people)
    replies = [model.reply(volunteer_id=v, question_id=v * 7) for v in people]
    assert replies == [again.reply(volunteer_id=v, question_id=v * 7) for v in people]
    answered = [r for r in replies if r is not None]
    assert 0.55 < len(answered) / len(people) < 0.65
    cold = [r for v, r in zip(people, replies, strict=True) if r and v not in model.roll_call_yes]
    warm = [r for v, r in zip(people, replies, strict=True) if r and v in model.roll_call_yes]
    assert 0.07 < sum(r.accept for r in cold) / len(cold) < 0.13
    assert 0.55 < sum(r.accept for r in warm) / len(warm) < 0.65
    assert all(r.delay.total_seconds() > 0 for r in answered)


def test_a_national_population_is_split_by_inhabitants() -> None:
    from brigades.drills.population import split_by_inhabitants
    from geo import load_reference_data

    reference = load_reference_data()
    regions = sorted(reference.regions)
    counts = split_by_inhabitants(reference, regions, 50_000)
    assert sum(counts.values()) == 50_000 and set(counts) == set(regions)
    people = {r: 0 for r in regions}
    for area in reference.pc4s.values():
        people[area.vr_code] += area.inwoners
    total = sum(people.values())
    for region in regions:
        assert abs(counts[region] - 50_000 * people[region] / total) < 1
    # Amsterdam-Amstelland (VR13) is far bigger than Zeeland (VR19).
    assert counts["VR13"] > 2 * counts["VR19"]
