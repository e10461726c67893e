"""What the framework refuses on its own is answered like every other error: Dutch, ErrorBody."""

from __future__ import annotations

from fastapi.testclient import TestClient

from brigades.app import MAX_BODY_BYTES


def _error(response_json: dict[str, object]) -> tuple[object, object]:
    assert set(response_json) == {"code", "detail", "field"}, response_json
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
