"""Who may scrape ``/metrics``: the bearer of the metrics token, or a local client."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from brigades.deps import SettingsDep
from brigades.errors import Forbidden, NotAuthenticated, NotFound
from brigades.settings import Environment

# A reverse proxy on the same host makes every client look local: a request that came through
# one is never taken for a local scraper.
_PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


class MissingMetricsToken(NotAuthenticated):
    code = "metrics_token_required"


def _is_loopback(request: Request) -> bool:
    if request.client is None or any(request.headers.get(h) for h in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:  # a name, e.g. the test client's "testclient"
        return False


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def require_scrape_access(request: Request, settings: SettingsDep) -> None:
    """Refuse a scrape that shows neither the token nor, without one, a local address."""
    if settings.metrics_token is not None and settings.metrics_token.get_secret_value():
        given = _bearer(request)
        if given is None:
            raise MissingMetricsToken("Authorization: Bearer <ZB_METRICS_TOKEN> ontbreekt.")
        expected = settings.metrics_token.get_secret_value()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Forbidden("Dit token geeft geen toegang tot de metrics.")
        return
    if settings.env is Environment.PRODUCTION:
        # No token in production: metrics are off and the route does not seem to exist.
        raise NotFound("Niet gevonden.")
    if not _is_loopback(request):
        raise Forbidden("Zonder ZB_METRICS_TOKEN alleen vanaf deze machine.")


ScrapeAccess = Annotated[None, Depends(require_scrape_access)]
