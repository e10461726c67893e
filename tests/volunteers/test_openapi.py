"""The API documents itself: summaries, response models and the shared error body."""

from __future__ import annotations

from fastapi.testclient import TestClient

ENDPOINTS = [
    ("post", "/api/v1/volunteers", "202"),
    ("post", "/api/v1/volunteers/verify", "200"),
    ("post", "/api/v1/volunteers/resend-code", "202"),
    ("get", "/api/v1/skills", "200"),
    ("get", "/api/v1/support-points", "200"),
    ("get", "/api/v1/me", "200"),
    ("patch", "/api/v1/me", "200"),
    ("post", "/api/v1/me/phone", "202"),
    ("post", "/api/v1/me/phone/verify", "200"),
    ("post", "/api/v1/me/pause", "200"),
    ("post", "/api/v1/me/resume", "200"),
    ("get", "/api/v1/me/export", "200"),
    ("delete", "/api/v1/me", "204"),
]


def test_every_endpoint_has_a_summary_a_model_and_documented_errors(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    for method, path, ok in ENDPOINTS:
        operation = spec["paths"][path][method]
        assert operation["summary"], path
        responses = operation["responses"]
        assert ok in responses, (path, responses.keys())
        if ok != "204":
            assert "$ref" in str(responses[ok]["content"]["application/json"]["schema"]), path
        errors = [code for code in responses if code.startswith("4")]
        # Only the taxonomy takes no input and needs no sign-in: nothing to refuse.
        assert errors or path == "/api/v1/skills", path
        for code in errors:
            schema = responses[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, code)
    assert "PersonalLink" in spec["components"]["securitySchemes"]
    me = spec["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"PersonalLink": []}]


def test_pages_are_not_in_the_api_schema(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert not any(p.startswith(("/aanmelden", "/mijn", "/l/")) for p in paths)
