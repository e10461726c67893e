"""The task-type catalogue is seeded with levels and required skills."""

from __future__ import annotations

from sqlmodel import Session

from brigades.tasks import service


def test_the_catalogue_states_level_and_skills(session: Session) -> None:
    types = {t.code: t for t in service.catalogue(session)}

    assert len(types) == 10
    assert types["boodschappen"].min_vetting_level == 1
    assert types["boodschappen"].skills == ("boodschappen",)
    assert types["gezelschap"].min_vetting_level == 2
    assert types["gezelschap"].skills == ("gezelschap",)
    assert types["vervoer_afspraak"].skills == ("vervoer_auto",)
    verzorging = types["lichte_persoonlijke_verzorging"]
    assert verzorging.min_vetting_level == 3
    assert verzorging.skills == ("lichte_persoonlijke_verzorging",)
    assert {t.min_vetting_level for t in types.values()} == {1, 2, 3}
    assert next(iter(types)) == "boodschappen"  # catalogue order
