"""A tight sending loop through the real Twilio adapter, without the outbox (a baseline).

    python -m bench.sms.client --api-base-url URL --account-sid AC… --auth-token T
        --service-sid MG… [--threads 32 (concurrent sends)] [--seconds 8]

``threads`` concurrent loops on one event loop call :meth:`TwilioProvider.send_async` (the
worker's path: one pooled keep-alive async client) back to back for ``seconds`` and one JSON line
is printed: sends, outcomes by kind, and per-send latency percentiles. It runs in its own
process so that it does not share a GIL with the fake server it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import uvloop

from notifications.providers.base import (
    OutboundSms,
    PermanentSendError,
    TransientSendError,
    UncertainSendError,
)
from notifications.providers.twilio import TwilioProvider, status_callback_url

BODY = "Zorgbrigade: kun je vandaag 14:00-16:00 boodschappen doen in 3512? Antwoord JA 4821."


def main() -> None:
    """Run the loop and print its JSON summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-base-url", required=True)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--service-sid", required=True)
    parser.add_argument("--public-url", default="https://zorgbrigade.example")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()

    provider = TwilioProvider(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        messaging_service_sid=args.service_sid,
        api_base_url=args.api_base_url,
        max_connections=args.threads,
    )
    outcomes: dict[str, int] = {}
    latencies: list[float] = []
    next_id = iter(range(10_000_000, 20_000_000))
    deadline = time.monotonic() + args.seconds

    async def loop() -> None:
        while time.monotonic() < deadline:
            outbox_id = next(next_id)
            message = OutboundSms(
                outbox_id=outbox_id,
                to=f"+3162{outbox_id % 10_000_000:07d}",
                body=BODY,
                sender_hint=None,
                status_callback_url=status_callback_url(args.public_url, outbox_id),
                synthetic=False,
            )
            started = time.perf_counter()
            try:
                await provider.send_async(message)
                kind = "sent"
            except TransientSendError:
                kind = "transient"
            except PermanentSendError:
                kind = "permanent"
            except UncertainSendError:
                kind = "uncertain"
            latencies.append(time.perf_counter() - started)
            outcomes[kind] = outcomes.get(kind, 0) + 1

    async def run() -> None:
        await asyncio.gather(*(loop() for _ in range(args.threads)))
        await provider.aclose()

    started = time.monotonic()
    uvloop.run(run())  # the worker's event loop too
    elapsed = time.monotonic() - started
    provider.close()
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
        )

    print(
        json.dumps(
            {
                "requests": len(latencies),
                "seconds": elapsed,
                "rps": len(latencies) / elapsed,
                "outcomes": outcomes,
                "p50_ms": pct(0.50),
                "p90_ms": pct(0.90),
                "p99_ms": pct(0.99),
            }
        )
    )


if __name__ == "__main__":
    main()
