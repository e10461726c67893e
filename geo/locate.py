"""Locating a postcode offline to a point, gemeente and Veiligheidsregio."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from geo.distance import haversine_km
from geo.postcode import Postcode, PostcodeError, normalise_postcode
from geo.reference import Pc4Area, ReferenceData, load_reference_data

Precision = Literal["pc4", "address"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """Where a postcode is: a point with its gemeente and region, and how it was found."""

    postcode: str
    pc4: int
    lat: float
    lon: float
    gm_code: str
    gm_name: str
    vr_code: str
    vr_name: str
    ggd_name: str
    plaats: str
    precision: Precision = "pc4"
    # Dutch, for the person: set when the PC4 itself is not in the data and a neighbour was used.
    note: str | None = None
    # The PC4 whose centroid was used instead of `pc4` (None when `pc4` itself was found).
    fallback_pc4: int | None = None


class Geocoder(Protocol):
    """An optional address-level geocoder (e.g. PDOK Locatieserver) behind a fixed interface."""

    def refine(self, location: Location, house_number: str) -> Location | None:
        """A more precise location for this house number, or None to keep the PC4 location."""
        ...


class NullGeocoder:
    """The offline default: never refines, so every location stays at PC4 precision."""

    def refine(self, location: Location, house_number: str) -> Location | None:
        """Keep the PC4 location."""
        return None


def locate(
    postcode: str,
    house_number: str | None = None,
    *,
    reference: ReferenceData | None = None,
    geocoder: Geocoder | None = None,
) -> Location:
    """Locate a home postcode; raise PostcodeError (malformed, unknown, po_box) if unusable."""
    parsed = normalise_postcode(postcode)
    data = reference if reference is not None else load_reference_data()
    area = data.pc4s.get(parsed.pc4)
    if area is not None:
        location = _location(parsed, area, data)
    elif parsed.pc4 in data.po_box_pc4s:
        raise PostcodeError(
            "po_box",
            f"Postcode {parsed.pc4} is alleen voor postbussen. "
            "Vul de postcode van het woonadres in.",
        )
    else:
        neighbour = fallback_area(parsed.pc4, data)
        if neighbour is None:
            raise PostcodeError(
                "unknown",
                f"Postcode {parsed} kennen we niet. Controleer de postcode op een tikfout.",
            )
        note = (
            f"Postcode {parsed.pc4} staat niet in onze gegevens; "
            f"we gebruiken het midden van {neighbour.pc4} ({neighbour.plaats})."
        )
        location = _location(parsed, neighbour, data, note=note)
    # The house number only matters to a real geocoder; offline it adds nothing to a PC4 centroid.
    number = house_number.strip() if house_number else ""
    if number and geocoder is not None:
        refined = geocoder.refine(location, number)
        if refined is not None:
            return refined
    return location


def fallback_area(pc4: int, data: ReferenceData) -> Pc4Area | None:
    """The known PC4 standing in for a plausibly real `pc4` missing from the data, else None."""
    below, above = data.adjacent_pc4s(pc4)
    candidates = [data.pc4s[code] for code in (below, above) if code is not None]
    if not candidates:
        return None
    point = data.address_pc4_points_2014.get(pc4)
    if point is not None:
        # 4pp (2014) knows it as an address code: pick the numeric neighbour nearest its point.
        lat, lon = point
        return min(candidates, key=lambda a: (haversine_km(lat, lon, a.lat, a.lon), a.pc4))
    # Unknown to 4pp too (5028): plausible only inside one gemeente's run of codes, so that even
    # a typo lands in the right gemeente and region. Outside such a run it is more likely wrong.
    if below is None or above is None:
        return None
    if data.pc4s[below].gm_code != data.pc4s[above].gm_code:
        return None
    return min(candidates, key=lambda a: (abs(a.pc4 - pc4), a.pc4))


def _location(
    postcode: Postcode, area: Pc4Area, data: ReferenceData, *, note: str | None = None
) -> Location:
    return Location(
        postcode=str(postcode),
        pc4=postcode.pc4,
        lat=area.lat,
        lon=area.lon,
        gm_code=area.gm_code,
        gm_name=data.gemeenten[area.gm_code].name,
        vr_code=area.vr_code,
        vr_name=data.regions[area.vr_code].name,
        ggd_name=area.ggd_name,
        plaats=area.plaats,
        note=note,
        fallback_pc4=area.pc4 if area.pc4 != postcode.pc4 else None,
    )
