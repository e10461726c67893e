"""Checking that a webhook request really comes from Twilio (``X-Twilio-Signature``).

Twilio signs the URL it called plus the POST parameters with the account's auth token
(HMAC-SHA1, twilio's ``RequestValidator``). Behind a reverse proxy the URL this process sees
(``http://app:8000/...``) is not the one Twilio called, so the URL is always rebuilt from
``ZB_PUBLIC_URL`` + the request's path + its query string.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping
from functools import lru_cache
from urllib.parse import urlparse

from twilio.request_validator import RequestValidator, add_port, remove_port

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

    # ``RequestValidator`` asks for ``getall`` first (and catches the AttributeError): answering
    # it saves an exception per parameter on every signature check.
    getall = getlist

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
    """Whether ``signature`` is Twilio's signature of ``url`` and ``params``.

    Accepts exactly what ``RequestValidator(auth_token).validate(url, params, signature)``
    accepts for form parameters: the HMAC-SHA1 (``compute_signature``) of the URL without its
    port or with it (Twilio signs either). ``validate`` always computes both; here the variant
    equal to the URL as configured is tried first and the other only when it does not match, so
    a genuine request costs one HMAC instead of two.
    """
    if not signature or not auth_token:
        return False
    validator = _validator(auth_token)
    expected = signature.encode("utf-8", "surrogateescape")
    for variant in _url_variants(url):
        computed = validator.compute_signature(variant, params)
        if hmac.compare_digest(computed.encode("ascii"), expected):
            return True
    return False


@lru_cache(maxsize=8)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)


@lru_cache(maxsize=256)
def _url_variants(url: str) -> tuple[str, ...]:
    """The URLs ``RequestValidator.validate`` checks (without, with the port), ``url``'s first.

    Bounded cache: the query string comes from the caller.
    """
    parsed = urlparse(url)
    variants = (remove_port(parsed), add_port(parsed))
    if variants[1] == url:
        variants = (variants[1], variants[0])
    return variants if variants[0] != variants[1] else variants[:1]
