"""SMS texts of the readiness package, in Dutch, inside GSM-7 and one 160-character segment with
realistic values (tests/readiness/test_texts.py checks that)."""

from __future__ import annotations

RECONFIRM_ASK = (
    "Zorgbrigade: ben je nog beschikbaar als vrijwilliger? Antwoord JA {code} of NEE {code}. "
    "Of kijk op je pagina: {url}"
)
RECONFIRM_REMINDER = (
    "Zorgbrigade, herinnering: ben je nog beschikbaar? Antwoord JA {code} of NEE {code}. "
    "Zonder antwoord zetten we je op niet actief."
)
RECONFIRM_DORMANT = (
    "Zorgbrigade: we hoorden niets van je en zetten je op niet actief. Weer meedoen? "
    "Stuur BESCHIKBAAR."
)
RECONFIRM_YES = (
    "Dank je! Je blijft ingeschreven bij de Zorgbrigade. Over een tijd vragen we het weer."
)
RECONFIRM_NO = (
    "Helder. Je staat op pauze tot {date}. Stuur BESCHIKBAAR als je eerder weer kunt helpen."
)
RECONFIRM_ALREADY = "Dank je, we hadden je antwoord al."

VOG_WARNING = (
    "Zorgbrigade: je VOG verloopt op {date}. Vraag op tijd een nieuwe aan via justis.nl en laat "
    "hem zien bij je buurtsteunpunt."
)
EVIDENCE_WARNING = (
    "Zorgbrigade: je bewijs voor {skill} verloopt op {date}. Laat een nieuw bewijs zien bij je "
    "buurtsteunpunt of volg de training opnieuw."
)
