"""Offline Dutch reference data: Veiligheidsregio's, gemeenten, PC4 centroids and boundaries.

The files live in ``geo/data`` (see its README for provenance) and are immutable package data.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

DATA_DIR: Traversable = resources.files(__package__ or "geo") / "data"


class ReferenceDataError(RuntimeError):
    """The vendored data files are missing or inconsistent (a packaging error, not user input)."""


@dataclass(frozen=True, slots=True)
class VeiligheidsRegio:
    """One of the 25 safety regions, VR01..VR25."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Gemeente:
    """A municipality (2023 indeling) with its safety region, GGD and a label point inside it."""

    code: str
    name: str
    vr_code: str
    ggd_name: str
    provincie: str
    label_lat: float
    label_lon: float
    # The everyday name where it differs from the official one ("Den Haag"), else "".
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Pc4Area:
    """A CBS PC4 area: centroid, gemeente, region and inhabitants (0 where CBS gives none)."""

    pc4: int
    lat: float
    lon: float
    gm_code: str
    vr_code: str
    ggd_name: str
    plaats: str
    inwoners: int


def _rows(directory: Traversable, name: str) -> Iterator[dict[str, str]]:
    # Traversable.open() takes no newline argument, which csv needs: decode the bytes ourselves.
    text = directory.joinpath(name).read_bytes().decode("utf-8-sig")
    yield from csv.DictReader(io.StringIO(text, newline=""))


class ReferenceData:
    """The reference tables, keyed by code; boundary polygons are loaded on first use."""

    def __init__(
        self,
        regions: Mapping[str, VeiligheidsRegio],
        gemeenten: Mapping[str, Gemeente],
        pc4s: Mapping[int, Pc4Area],
        po_box_pc4s: frozenset[int],
        address_pc4_points_2014: Mapping[int, tuple[float, float]],
        directory: Traversable | None = None,
    ) -> None:
        self.regions = regions
        self.gemeenten = gemeenten
        self.pc4s = pc4s
        # PC4s 4pp (2014) lists only as "Postbus" and CBS has no area for: never a home address.
        self.po_box_pc4s = po_box_pc4s
        # PC4s 4pp lists as address codes but CBS has no area for, with 4pp's (rough) point.
        self.address_pc4_points_2014 = address_pc4_points_2014
        self.sorted_pc4s: tuple[int, ...] = tuple(sorted(pc4s))
        self._directory = directory
        self._boundaries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        _check_consistency(self)

    @classmethod
    def from_directory(cls, directory: Traversable) -> ReferenceData:
        """Read the reference tables from a directory laid out like ``geo/data``."""
        regions = {
            r["vr_code"]: VeiligheidsRegio(r["vr_code"], r["name"])
            for r in _rows(directory, "veiligheidsregios.csv")
        }
        gemeenten = {
            r["gm_code"]: Gemeente(
                code=r["gm_code"],
                name=r["name"],
                vr_code=r["vr_code"],
                ggd_name=r["ggd_name"],
                provincie=r["provincie"],
                label_lat=float(r["label_lat"]),
                label_lon=float(r["label_lon"]),
                display_name=r["display_name"],
            )
            for r in _rows(directory, "gemeenten_2023.csv")
        }
        pc4s: dict[int, Pc4Area] = {}
        for r in _rows(directory, "pc4_centroids.csv"):
            gemeente = gemeenten.get(r["gm_code"])
            pc4s[int(r["pc4"])] = Pc4Area(
                pc4=int(r["pc4"]),
                lat=float(r["lat"]),
                lon=float(r["lon"]),
                gm_code=r["gm_code"],
                vr_code=r["vr_code"],
                ggd_name=r["ggd_name"],
                # 14 PC4s have no plaats in CBS; the gemeente name is the best a person recognises.
                plaats=r["plaats"] or (gemeente.name if gemeente else ""),
                inwoners=int(r["inwoners"] or 0),
            )
        po_box: set[int] = set()
        address_points: dict[int, tuple[float, float]] = {}
        for r in _rows(directory, "4pp_2014.csv"):
            code = int(r["postcode"])
            if code in pc4s:
                continue
            if r["soort"] == "Postbus":
                po_box.add(code)
            else:
                address_points[code] = (float(r["latitude"]), float(r["longitude"]))
        return cls(regions, gemeenten, pc4s, frozenset(po_box), address_points, directory)

    def region(self, code: str) -> VeiligheidsRegio:
        """The Veiligheidsregio with this code (KeyError when unknown)."""
        return self.regions[code]

    def adjacent_pc4s(self, pc4: int) -> tuple[int | None, int | None]:
        """The known PC4s numerically just below and above `pc4` within its two-digit area."""
        i = bisect.bisect_left(self.sorted_pc4s, pc4)
        below = self.sorted_pc4s[i - 1] if i > 0 else None
        j = i + 1 if i < len(self.sorted_pc4s) and self.sorted_pc4s[i] == pc4 else i
        above = self.sorted_pc4s[j] if j < len(self.sorted_pc4s) else None
        area = pc4 // 100
        return (
            below if below is not None and below // 100 == area else None,
            above if above is not None and above // 100 == area else None,
        )

    def vr_boundary(self, code: str) -> Any:
        """The region's polygon as a prepared shapely geometry (x = lon, y = lat)."""
        return self._boundary("veiligheidsregios_2023.geojson", "vr_code")[code]

    def gemeente_boundary(self, code: str) -> Any:
        """The gemeente's polygon as a prepared shapely geometry (x = lon, y = lat)."""
        return self._boundary("gemeenten_2023.geojson", "gm_code")[code]

    def vr_at(self, lat: float, lon: float) -> str | None:
        """The code of the Veiligheidsregio whose (simplified) polygon contains the point."""
        import shapely

        for code in self.regions:
            if shapely.contains_xy(self.vr_boundary(code), lon, lat):
                return code
        return None

    def _boundary(self, filename: str, key: str) -> dict[str, Any]:
        # Polygons cost ~0.1 s and memory most callers never need, so load each file on first use.
        with self._lock:
            if filename not in self._boundaries:
                self._boundaries[filename] = self._load_boundaries(filename, key)
            return self._boundaries[filename]

    def _load_boundaries(self, filename: str, key: str) -> dict[str, Any]:
        import shapely
        from shapely.geometry import shape

        if self._directory is None:
            raise ReferenceDataError("no data directory to read boundaries from")
        with self._directory.joinpath(filename).open("r", encoding="utf-8") as handle:
            features = json.load(handle)["features"]
        geometries: dict[str, Any] = {}
        for feature in features:
            geometry = shape(feature["geometry"])
            # shapely 2 prepares in place: the object keeps its full API and contains() gets fast.
            shapely.prepare(geometry)
            geometries[feature["properties"][key]] = geometry
        return geometries


def _check_consistency(data: ReferenceData) -> None:
    # Cheap referential checks so a bad data update fails at start-up, not on someone's sign-up.
    for gemeente in data.gemeenten.values():
        if gemeente.vr_code not in data.regions:
            raise ReferenceDataError(f"{gemeente.code}: unknown region {gemeente.vr_code}")
    for area in data.pc4s.values():
        found = data.gemeenten.get(area.gm_code)
        if found is None or found.vr_code != area.vr_code:
            raise ReferenceDataError(f"PC4 {area.pc4}: gemeente/region mismatch")


@cache
def load_reference_data() -> ReferenceData:
    """The vendored reference data, read once per process (the files are immutable package data)."""
    return ReferenceData.from_directory(DATA_DIR)
