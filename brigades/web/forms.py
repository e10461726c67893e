"""Reading posted HTML forms defensively: no NUL characters, single-valued fields given once."""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile

from brigades.errors import InvalidInput

NUL_TEXT = (
    "Het formulier bevat een teken dat hier niet kan. Pas de invoer aan en probeer het opnieuw."
)
REPEATED_TEXT = (
    "Het formulier bevat een veld meer dan eens. Laad de pagina opnieuw en probeer het nog eens."
)


def refuse_nul(form: FormData) -> None:
    """Refuse a form with a NUL character in a name or value (no field may hold one)."""
    for key, value in form.multi_items():
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            raise InvalidInput(NUL_TEXT)


def single(form: FormData, name: str) -> str | UploadFile | None:
    """The one value of a single-valued field (None when absent); refused when repeated."""
    values = form.getlist(name)
    if len(values) > 1:
        raise InvalidInput(REPEATED_TEXT, field=name)
    return values[0] if values else None
