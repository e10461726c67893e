"""What an incident's level means for dispatch: radius, offer expiry, caps, wave size.

The table lives in the settings (``ZB_INCIDENT_LEVELS``) with defaults; the dispatcher reads
:func:`dispatch_settings` for an incident's current level, so scaling up or down changes how
volunteers are sought, not only a label.
"""

from __future__ import annotations

from dataclasses import dataclass

from brigades.incidents.models import MAX_LEVEL, MIN_LEVEL
from brigades.settings import Settings

LEVEL_LABELS_NL = {
    1: "1 – beperkt",
    2: "2 – verhoogd",
    3: "3 – ernstig",
    4: "4 – zeer ernstig",
}


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    """The dispatch parameters of one level."""

    level: int
    search_radius_km: float
    offer_expiry_minutes: int
    offers_per_volunteer_per_day: int
    # Offers per open slot in one wave: a task of n slots is offered to ceil(k * n) volunteers.
    wave_factor: float


def dispatch_settings(settings: Settings, level: int) -> DispatchSettings:
    """The dispatch parameters for a level (1..4)."""
    if not MIN_LEVEL <= level <= MAX_LEVEL:
        raise ValueError(f"an incident level is {MIN_LEVEL}..{MAX_LEVEL}, not {level}")
    radius, expiry, per_day, wave = settings.incident_levels[level - 1]
    return DispatchSettings(level, float(radius), int(expiry), int(per_day), float(wave))


def level_table(settings: Settings) -> list[DispatchSettings]:
    """Every level's parameters, lowest first (shown on the incident page)."""
    return [dispatch_settings(settings, level) for level in range(MIN_LEVEL, MAX_LEVEL + 1)]
