"""Checking that a webhook request really comes from Twilio (``X-Twilio-Signature``).

Twilio signs the URL it called plus the POST parameters with the account's auth token
(HMAC-SHA1, twilio's ``RequestValidator``). Behind a reverse proxy the URL this process sees
(``http://app:8000/...``) is not the one Twilio called, so the URL is always rebuilt from
``ZB_PUBLIC_URL`` + the request's path + its query string.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "x-twilio-signature"


class FormParams(Mapping[str, str]):
    """POST parameters that may repeat, in the shape ``RequestValidator`` reads (``getlist``)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._lists: dict[str, list[str]] = {}
        for key, value in items:
            self._lists.setdefault(key, []).append(value)

    def getlist(self, key: str) -> list[str]:
        """Every value of a parameter."""
        return list(self._lists.get(key, []))

    def __getitem__(self, key: str) -> str:
        return self._lists[key][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)


def called_url(public_url: str, path: str, query: str) -> str:
    """The URL Twilio called: the public base URL, the path, and the query string as sent."""
    url = public_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def is_valid(auth_token: str, url: str, params: FormParams, signature: str | None) -> bool:
    """Whether ``signature`` is Twilio's signature of ``url`` and ``params``."""
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))
