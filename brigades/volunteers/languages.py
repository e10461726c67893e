"""The languages a volunteer can say they speak (ISO 639-1), with their Dutch names."""

from __future__ import annotations

LANGUAGES_NL: dict[str, str] = {
    "nl": "Nederlands",
    "fy": "Fries",
    "en": "Engels",
    "de": "Duits",
    "fr": "Frans",
    "es": "Spaans",
    "pt": "Portugees",
    "it": "Italiaans",
    "pl": "Pools",
    "ro": "Roemeens",
    "bg": "Bulgaars",
    "hu": "Hongaars",
    "el": "Grieks",
    "uk": "Oekraïens",
    "ru": "Russisch",
    "tr": "Turks",
    "ar": "Arabisch",
    "fa": "Perzisch (Farsi)",
    "ti": "Tigrinya",
    "so": "Somalisch",
    "zh": "Chinees",
    "hi": "Hindi",
    "ur": "Urdu",
}

LANGUAGE_CODES = frozenset(LANGUAGES_NL)
