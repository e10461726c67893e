"""The request paths that carry a task CSV, and the body size they may have."""

from __future__ import annotations

import re

from brigades.settings import Settings

# Multipart framing and the other form fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
IMPORT_PATHS = (
    re.compile(r"/api/v1/incidents/[0-9]+/tasks/import"),
    re.compile(r"/beheer/incidenten/[0-9]+/taken/importeren"),
)


def upload_limits(settings: Settings) -> list[tuple[re.Pattern[str], int]]:
    """Path patterns with their own body limit (for BodySizeLimit)."""
    limit = settings.task_import_max_bytes + FORM_OVERHEAD_BYTES
    return [(pattern, limit) for pattern in IMPORT_PATHS]
