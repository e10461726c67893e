"""SMS segment counting (GSM 03.38 7-bit alphabet vs UCS-2)."""

from __future__ import annotations

from dataclasses import dataclass

# The GSM 7-bit default alphabet; the extension table costs two septets per character.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    offending: str  # characters that forced UCS-2, if any


def count_segments(text: str) -> SegmentCount:
    """How many SMS segments ``text`` takes, and which characters (if any) force UCS-2."""
    offending = "".join(sorted({c for c in text if c not in _GSM_BASIC and c not in _GSM_EXTENDED}))
    if not offending:
        costs = [2 if c in _GSM_EXTENDED else 1 for c in text]
        single, multi = 160, 153
        encoding = "GSM-7"
    else:
        costs = [len(c.encode("utf-16-le", "surrogatepass")) // 2 for c in text]
        single, multi = 70, 67
        encoding = "UCS-2"
    units = sum(costs)
    segments = 1 if units <= single else _split(costs, multi)
    return SegmentCount(encoding=encoding, units=units, segments=segments, offending=offending)


def _split(costs: list[int], capacity: int) -> int:
    """Segments of a concatenated message of characters costing ``costs`` units."""
    # A character (an escape pair, a surrogate pair) is never split across two segments, so a
    # segment may end one unit short of its capacity.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > capacity:
            segments, used = segments + 1, 0
        used += cost
    return segments


def is_gsm7(text: str) -> bool:
    """Whether ``text`` fits the GSM 7-bit alphabet (so 160 characters per segment)."""
    return not count_segments(text).offending
