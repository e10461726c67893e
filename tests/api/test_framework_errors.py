"""What the framework refuses on its own is answered like every other error: Dutch, ErrorBody."""

from __future__ import annotations

from fastapi.testclient import TestClient

from brigades.app import MAX_BODY_BYTES


def _error(response_json: dict[str, object]) -> tuple[object, object]:
    assert set(response_json) - {"errors"} == {"code", "detail", "field"}, response_json
    return response_json["code"], response_json["detail"]


def test_an_unknown_api_address_is_a_dutch_404(client: TestClient) -> None:
    response = client.get("/api/v1/bestaat-niet")
    assert response.status_code == 404
    assert _error(response.json()) == (
        "not_found",
        "Deze pagina bestaat niet (meer). Controleer het adres.",
    )


def test_an_unknown_page_is_a_dutch_error_page(client: TestClient) -> None:
    response = client.get("/bestaat-niet")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Deze pagina bestaat niet (meer)" in response.text
    assert "Not Found" not in response.text


def test_a_wrong_method_is_a_dutch_405_with_allow(client: TestClient) -> None:
    response = client.delete("/api/v1/skills")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert _error(response.json())[0] == "method_not_allowed"


def test_a_body_that_is_not_utf8_is_a_dutch_400(client: TestClient) -> None:
    response = client.post(
        "/api/v1/volunteers/resend-code",
        content=b'{"phone": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    code, detail = _error(response.json())
    assert code == "unreadable_request" and "kon niet worden gelezen" in str(detail)


def test_a_too_large_body_is_a_dutch_413(client: TestClient) -> None:
    response = client.post(
        "/api/v1/volunteers",
        content=b"x" * (MAX_BODY_BYTES + 1),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert _error(response.json()) == ("too_large", "Het verzoek is te groot.")


def test_the_document_names_only_the_apps_own_error_body(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and "content" in response:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (
                        method,
                        path,
                        status,
                    )
            if "requestBody" in operation:
                assert "400" in operation["responses"], (method, path)


def test_a_nul_anywhere_in_an_api_request_is_a_dutch_422(client: TestClient) -> None:
    # PostgreSQL refuses NUL in any text value: without the check these were server errors.
    for response in (
        client.post("/api/v1/auth/token", data={"username": "a\x00@zorg.example", "password": "x"}),
        client.post("/api/v1/volunteers/resend-code", json={"phone": "06 1234\x005678"}),
        client.get("/api/v1/support-points", params={"pc4": "35\x0084"}),
    ):
        assert response.status_code == 422, response.text
        code, detail = _error(response.json())
        assert code == "invalid_input" and "teken dat hier niet kan" in str(detail)
    nested = client.post("/api/v1/volunteers", json={"skills": [{"code": "a\x00"}]})
    assert nested.status_code == 422 and nested.json()["field"] == "skills.0.code"


def test_text_that_only_looks_like_a_nul_is_not_refused(client: TestClient) -> None:
    # An escaped backslash before "u0000", or "%00" inside JSON, is ordinary text.
    response = client.post(
        "/api/v1/volunteers/resend-code",
        content=b'{"phone": "06 12\\\\u0000 %00"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code != 422 or "NUL" not in response.text, response.text
