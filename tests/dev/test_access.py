"""The phone simulator does not exist outside development."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/dev/telefoon"),
        ("GET", "/dev/telefoon/+31699123456"),
        ("POST", "/dev/telefoon/+31699123456"),
    ],
)
def test_not_found_outside_development(client: TestClient, method: str, path: str) -> None:
    # The `client` fixture runs with ZB_ENV=test.
    response = client.request(method, path, data={"bericht": "STOP"})
    assert response.status_code == 404
