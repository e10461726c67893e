"""The API's OpenAPI document, made to say what the app really answers.

FastAPI documents request validation errors with its own ``HTTPValidationError`` body, but the app
answers them (and every other error) with :class:`~brigades.volunteers.schemas.ErrorBody`. A body
that cannot be read at all (not UTF-8) is answered 400 by the framework, on every operation that
takes a body. The document is corrected once, when it is first built.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

ERROR_REF = "#/components/schemas/ErrorBody"
_FASTAPI_VALIDATION_REFS = {
    "#/components/schemas/HTTPValidationError",
}
_UNUSED_IF_UNREFERENCED = ("HTTPValidationError", "ValidationError")
_UNREADABLE_BODY = "The body could not be read (e.g. not UTF-8)"
_INVALID_INPUT = "Invalid input; `errors` lists the fields"


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }


def correct(spec: dict[str, Any]) -> dict[str, Any]:
    """Document the app's own error body for validation and unreadable-body errors."""
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") in _FASTAPI_VALIDATION_REFS:
                    responses[status] = _error_response(_INVALID_INPUT)
            if "requestBody" in operation and "400" not in responses:
                responses["400"] = _error_response(_UNREADABLE_BODY)
            operation["responses"] = dict(sorted(responses.items()))
    schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})
    for name in _UNUSED_IF_UNREFERENCED:
        if name in schemas:
            rest = {
                key: value for key, value in schemas.items() if key not in _UNUSED_IF_UNREFERENCED
            }
            if f'"#/components/schemas/{name}"' not in json.dumps([spec.get("paths"), rest]):
                del schemas[name]
    return spec


def install(app: FastAPI) -> None:
    """Serve the corrected document (FastAPI builds and caches it; correcting is idempotent)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        return correct(build())

    app.openapi = openapi  # type: ignore[method-assign]
