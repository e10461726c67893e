"""The dispatcher's messages on screens: reasons and alerts for coordinators, and what the
personal page says after a web answer (not SMS: their length is not bound to one segment)."""

from __future__ import annotations

from datetime import datetime

from brigades import clock
from brigades.dispatch.formatting import km, thousands
from brigades.dispatch.texts import (
    ALREADY_BUSY,
    ALREADY_FILLED,
    CANCELLED,
    DECLINED,
    DONE,
    NO_LONGER_NEEDED,
    OFFER_EXPIRED,
)


def unfillable_no_candidates(radius_km: float) -> str:
    """Reason: nobody with the skills, level and time within the widest radius."""
    return (
        f"Niemand met de juiste vaardigheden, screening en beschikbaarheid binnen "
        f"{km(radius_km)} van de taak."
    )


def unfillable_busy(radius_km: float, blocked: int, *, at_least: bool = False) -> str:
    """Reason: suitable volunteers exist, but all are busy, at their cap, or said no
    (``at_least``: counted up to ``blocked`` and there may be more)."""
    if blocked == 1 and not at_least:
        return (
            f"De enige geschikte vrijwilliger binnen {km(radius_km)} is al ingezet, heeft de "
            f"daglimiet bereikt of is al gevraagd."
        )
    return (
        f"Alle {thousands(blocked)}{' of meer' if at_least else ''} geschikte vrijwilligers binnen "
        f"{km(radius_km)} zijn al ingezet, "
        f"hebben hun daglimiet bereikt of zijn al gevraagd."
    )


def unfillable_all_asked(radius_km: float, asked: int) -> str:
    """Reason: everyone suitable was asked for this task and declined or did not answer."""
    if asked == 1:
        return (
            f"De enige geschikte vrijwilliger binnen {km(radius_km)} is al gevraagd en zei nee "
            f"of antwoordde niet op tijd."
        )
    return (
        f"Alle {asked} geschikte vrijwilligers binnen {km(radius_km)} zijn al gevraagd en "
        f"zeiden nee of antwoordden niet op tijd."
    )


def unfillable_partly(filled: int, slots: int) -> str:
    """Reason suffix when some slots were filled."""
    return f" {filled} van {slots} plekken bezet."


def overdue(task_id: int, end: datetime) -> str:
    """Alert: an assignment not finished well after its window."""
    return (
        f"Taak {task_id}: inzet nog niet afgemeld, het tijdvak eindigde {clock.format_local(end)}."
    )


def cancelled_alert(task_id: int) -> str:
    """Alert: a volunteer cancelled; the slot was reopened."""
    return f"Taak {task_id}: een vrijwilliger heeft afgezegd; de plek wordt opnieuw aangeboden."


# What the personal page says after a web answer (keyed by the outcome in the redirect).
WEB_OUTCOMES = {
    "accepted": "Dank je wel! Hieronder staan het adres en de afspraken; je krijgt ze ook per SMS.",
    "geoefend": "OEFENING: dank je voor je antwoord! Dit is een oefening: je hoeft nergens heen.",
    "too_late": ALREADY_FILLED,
    "not_needed": NO_LONGER_NEEDED,
    "expired": OFFER_EXPIRED,
    "busy": ALREADY_BUSY,
    "declined": DECLINED,
    "already_answered": "Je had dit verzoek al beantwoord.",
    "checked_in": "Fijn dat je er bent! Meld je af met 'Klaar' als je klaar bent.",
    "done": DONE,
    "cancelled": CANCELLED,
    "not_live": "Deze taak loopt niet meer.",
    "probleem": "Je melding is doorgegeven aan de coördinator.",
    "leeg": "Schrijf kort wat er aan de hand is, dan geven we het door.",
}
