"""A real uvicorn process serving the app on loopback, for browser and multi-process tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(
    database_url: str, *, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """Run ``zorgbrigade``'s app in a uvicorn subprocess; yields its base URL."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    child_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ZB_ENV": "development",
        "ZB_SECRET_KEY": "live-server-secret-key-0123456789abcdef",
        "ZB_PUBLIC_URL": base,
        "ZB_WORKER_IN_PROCESS": "true",
        "ZB_WORKER_POLL_SECONDS": "0.1",
        **(env or {}),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "brigades.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=child_env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
