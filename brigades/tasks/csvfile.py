"""Reading a task CSV (docs/task-import.md): encoding, separator, columns, rows.

Pure functions over bytes: nothing here touches the database. File-level problems raise
:class:`CsvRefused` (Dutch message); row-level problems are returned per row with the column,
so that the import can report every one of them.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from brigades.errors import InvalidInput
from brigades.tasks.models import TaskPriority
from brigades.tasks.validation import (
    PRIORITY_WORDS,
    FieldError,
    TaskDraft,
    local_window,
)

REQUIRED_COLUMNS = (
    "type",
    "postcode",
    "huisnummer",
    "datum",
    "van",
    "tot",
    "duur_minuten",
    "omschrijving",
)
OPTIONAL_COLUMNS = (
    "straat",
    "plaats",
    "aantal",
    "prioriteit",
    "contact_instructie",
    "externe_referentie",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Where a problem with a task field is shown in the file.
FIELD_COLUMNS: Mapping[str, str] = {
    "type_code": "type",
    "postcode": "postcode",
    "house_number": "huisnummer",
    "street": "straat",
    "city": "plaats",
    "date": "datum",
    "start": "van",
    "end": "tot",
    "window_start": "van",
    "window_end": "tot",
    "duration_minutes": "duur_minuten",
    "slots": "aantal",
    "priority": "prioriteit",
    "description": "omschrijving",
    "contact_instructions": "contact_instructie",
    "external_reference": "externe_referentie",
}
SAVE_AS_UTF8 = (
    "Sla het bestand in Excel op via Opslaan als > 'CSV UTF-8 (door lijstscheidingsteken "
    "gescheiden)' en probeer het opnieuw."
)
MAX_FIELD_CHARS = 10_000


class CsvRefused(InvalidInput):
    """The file as a whole cannot be read as a task CSV; nothing is imported."""

    code = "invalid_file"


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: its row number in the spreadsheet (the header is row 1) and its cells."""

    number: int
    cells: dict[str, str]


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A readable task CSV: its columns and data rows."""

    columns: tuple[str, ...]
    delimiter: str
    rows: list[CsvRow]


def _decode(data: bytes) -> str:
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise CsvRefused("Het bestand is leeg.", field="file")
    if data.startswith(b"PK\x03\x04"):
        raise CsvRefused(
            f"Dit lijkt een Excel-bestand (.xlsx), geen CSV. {SAVE_AS_UTF8}", field="file"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvRefused(f"Het bestand is opgeslagen als UTF-16. {SAVE_AS_UTF8}", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvRefused(
            f"Het bestand is geen UTF-8 (regel {line} bevat een teken in een andere codering, "
            f"bijvoorbeeld Windows-1252). {SAVE_AS_UTF8}",
            field="file",
        ) from exc
    if "\x00" in text:
        raise CsvRefused("Het bestand bevat binaire gegevens; het is geen CSV.", field="file")
    return text


def _normalise(name: str) -> str:
    return "_".join(name.strip().strip('"').lower().replace("-", " ").split())


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read(data: bytes, *, max_rows: int) -> CsvFile:
    """Decode, sniff the separator (; , or tab), check the columns and read every row."""
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise CsvRefused("De kopregel van het bestand is niet te lezen.", field="file") from exc
    columns = tuple(_normalise(h) for h in header)
    _check_columns(columns)
    rows: list[CsvRow] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= max_rows:
                raise CsvRefused(
                    f"Het bestand heeft meer dan {max_rows:,} taken; splits het in delen.".replace(
                        ",", "."
                    ),
                    field="file",
                )
            if any(len(c) > MAX_FIELD_CHARS for c in cells):
                raise CsvRefused(
                    f"Regel {reader.line_num}: een veld is langer dan {MAX_FIELD_CHARS} tekens.",
                    field="file",
                )
            values = {
                col: (cells[i].strip() if i < len(cells) else "") for i, col in enumerate(columns)
            }
            extra = cells[len(columns) :]
            if any(c.strip() for c in extra):
                values["__extra__"] = "1"
            rows.append(CsvRow(reader.line_num, values))
    except csv.Error as exc:
        raise CsvRefused(
            f"Regel {reader.line_num} is niet te lezen ({exc}). Controleer de aanhalingstekens.",
            field="file",
        ) from exc
    if not rows:
        raise CsvRefused("Het bestand bevat geen taken, alleen een kopregel.", field="file")
    return CsvFile(columns, delimiter, rows)


def _check_columns(columns: tuple[str, ...]) -> None:
    problems: list[str] = []
    duplicates = sorted({c for c in columns if columns.count(c) > 1 and c})
    if duplicates:
        problems.append(f"Kolom dubbel: {', '.join(duplicates)}.")
    for column in columns:
        if column and column not in COLUMNS:
            guess = difflib.get_close_matches(column, COLUMNS, n=1)
            hint = f" Bedoel je '{guess[0]}'?" if guess else ""
            problems.append(f"Onbekende kolom '{column[:40]}'.{hint}")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        problems.append(f"Verplichte kolommen ontbreken: {', '.join(missing)}.")
    if problems:
        raise CsvRefused(
            " ".join(problems) + " Gebruik de kopregel van het sjabloon (docs/taken-sjabloon.csv).",
            field="file",
        )


def _int(text: str, column: str, default: int | None, errors: list[FieldError]) -> int:
    if not text and default is not None:
        return default
    if not text.isdigit() or len(text) > 6:
        errors.append(FieldError(column, "Vul een heel getal in."))
        return 0
    return int(text)


def draft_of(row: CsvRow) -> TaskDraft | list[FieldError]:
    """The task a row asks for, or its problems (field names; see FIELD_COLUMNS)."""
    cells = row.cells
    errors: list[FieldError] = []
    if "__extra__" in cells:
        errors.append(FieldError("file", "Deze regel heeft meer velden dan de kopregel."))
    window = local_window(cells.get("datum", ""), cells.get("van", ""), cells.get("tot", ""))
    if isinstance(window, list):
        errors.extend(window)
    duration = _int(cells.get("duur_minuten", ""), "duration_minutes", None, errors)
    slots = _int(cells.get("aantal", ""), "slots", 1, errors)
    priority = PRIORITY_WORDS.get(cells.get("prioriteit", "").strip().lower())
    if priority is None:
        errors.append(FieldError("priority", "Kies spoed, hoog, normaal of laag."))
    if errors or isinstance(window, list):
        return errors
    return TaskDraft(
        type_code=cells.get("type", ""),
        postcode=cells.get("postcode", ""),
        house_number=cells.get("huisnummer", ""),
        street=cells.get("straat") or None,
        city=cells.get("plaats") or None,
        window_start=window[0],
        window_end=window[1],
        duration_minutes=duration,
        slots=slots,
        priority=priority or TaskPriority.NORMAL,
        description=cells.get("omschrijving", ""),
        contact_instructions=cells.get("contact_instructie") or None,
        external_reference=cells.get("externe_referentie") or None,
    )


def column_of(field_name: str) -> str:
    """The CSV column where a task field's problem is shown."""
    return FIELD_COLUMNS.get(field_name, field_name)


def iter_chunks(rows: list[CsvRow], size: int) -> Iterator[list[CsvRow]]:
    """The rows in chunks (progress is recorded after each)."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
