"""The dispatcher's Dutch SMS texts and messages for coordinators.

Offers fit one GSM-7 segment (160 characters; tested): no medical detail and no exact address
travel in an offer — only the kind of task, when, the PC4 and the distance. The details follow
by SMS to the one volunteer who accepted.
"""

from __future__ import annotations

from datetime import datetime

from brigades import clock
from brigades.dispatch.formatting import km, when


def offer(
    *,
    type_name: str,
    start: datetime,
    end: datetime,
    pc4: int,
    distance_km: float,
    code: str,
    expires_at: datetime,
    urgent: bool,
) -> str:
    """An offer: what, when, where roughly, the reply words with the code, and until when."""
    prefix = "SPOED " if urgent else ""
    return (
        f"{prefix}Zorgbrigade: {type_name}, {when(start, end)}, {pc4} ({km(distance_km)}). "
        f"Kun je? Stuur JA {code} of NEE {code} (tot {clock.local(expires_at):%H:%M})."
    )


def details(
    *,
    type_name: str,
    start: datetime,
    end: datetime,
    address: str,
    contact: str | None,
    code: str,
) -> str:
    """The details after an acceptance: the exact address, how to make contact, the words."""
    lines = [
        f"Dank je! Je gaat: {type_name}, {when(start, end)}.",
        f"Adres: {address}.",
    ]
    if contact:
        lines.append(f"Contact: {contact}")
    lines.append(f"Stuur AANGEKOMEN {code} bij aankomst, KLAAR {code} als je klaar bent, ")
    lines[-1] += f"AFZEGGEN {code} als je toch niet kunt."
    return " ".join(lines)


def drill_accepted(*, type_name: str, start: datetime, end: datetime) -> str:
    """The answer to a JA in a live drill: an exercise, nobody goes (no address, no check-in)."""
    return (
        f"OEFENING: dank je! Je zou gaan: {type_name}, {when(start, end)}. "
        "Het is een oefening: je hoeft nergens heen. Bedankt!"
    )


ALREADY_FILLED = "Deze taak is al vervuld, dank je wel! We houden je op de hoogte van nieuwe taken."
NO_LONGER_NEEDED = "Deze taak is niet meer nodig, dank je wel voor je reactie."
OFFER_EXPIRED = "Dit verzoek is verlopen, dank je wel. We vragen je graag een volgende keer."
ALREADY_BUSY = (
    "Je bent op dat moment al ingedeeld voor een andere taak. Dank je wel, we vragen iemand anders."
)
DECLINED = "Dank je voor het laten weten. We vragen iemand anders."
ALREADY_ANSWERED = "Je had dit verzoek al beantwoord. Stuur STATUS voor je open vragen."
DETAILS_ON_THE_WAY = "Dank je wel! Je krijgt zo een SMS met het adres en de afspraken."
DONE = "Dank je wel voor je hulp! Je inzet is afgemeld."
CANCELLED = "Jammer, maar dank je voor het laten weten. We zoeken iemand anders."
NOT_LIVE = "Deze inzet loopt niet meer. Stuur STATUS voor je open vragen."
STAND_DOWN_OFFER = (
    "Zorgbrigade: het incident is afgeschaald. Je hoeft niet meer op ons verzoek te reageren. "
    "Dank je wel!"
)
STAND_DOWN_ASSIGNMENT = (
    "Zorgbrigade: het incident is afgeschaald. Rond je lopende taak af zoals afgesproken of "
    "overleg met de coordinator. Dank je wel!"
)

STAND_DOWN_DRILL = (
    "OEFENING: de oefening is afgelopen. Je hoeft niets meer te doen. Dank je wel voor het meedoen!"
)


def checked_in(code: str) -> str:
    """Reply to AANGEKOMEN."""
    if code:
        return f"Fijn dat je er bent! Stuur KLAAR {code} als je klaar bent."
    return "Fijn dat je er bent! Stuur KLAAR als je klaar bent."
