"""Offline Dutch geodata: reference tables, locating postcodes, distances and nearest-point search.

Standalone: it never imports `brigades` or `notifications`, and needs no database.
"""

from geo.distance import EARTH_RADIUS_KM, haversine_km, haversine_km_many
from geo.locate import Geocoder, Location, NullGeocoder, Precision, fallback_area, locate
from geo.nearest import Neighbour, PointIndex
from geo.postcode import Postcode, PostcodeError, PostcodeErrorCode, normalise_postcode
from geo.reference import (
    Gemeente,
    Pc4Area,
    ReferenceData,
    ReferenceDataError,
    VeiligheidsRegio,
    load_reference_data,
)

__all__ = [
    "EARTH_RADIUS_KM",
    "Gemeente",
    "Geocoder",
    "Location",
    "Neighbour",
    "NullGeocoder",
    "Pc4Area",
    "PointIndex",
    "Postcode",
    "PostcodeError",
    "PostcodeErrorCode",
    "Precision",
    "ReferenceData",
    "ReferenceDataError",
    "VeiligheidsRegio",
    "fallback_area",
    "haversine_km",
    "haversine_km_many",
    "load_reference_data",
    "locate",
    "normalise_postcode",
]
