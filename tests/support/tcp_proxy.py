"""A TCP proxy on loopback that can fail like a restarting server.

The application connects to the proxy instead of the server (PostgreSQL, the fake Twilio). A test
can then :meth:`TcpProxy.cut` every open connection and refuse new ones (the listening socket is
closed, so a connect gets "connection refused", as while a server restarts), and
:meth:`TcpProxy.restore` it on the same port. :meth:`TcpProxy.cut_on` arms a cut for the moment
the client sends given bytes (e.g. PostgreSQL's ``COMMIT``): those bytes are never forwarded, so
the server sees the connection drop in the middle of a transaction.

Real sockets and one thread per direction of a connection; meant for tests, not for load.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from tests.support.live_server import free_port

_CHUNK = 65536


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``target``; use as a context manager."""

    def __init__(self, target_host: str, target_port: int, *, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accepter: threading.Thread | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._trigger: bytes | None = None
        self.accepted = 0  # connections accepted, over the proxy's life
        self.cuts = 0  # connections cut
        self.triggered = threading.Event()

    # -- life -------------------------------------------------------------------------------
    def __enter__(self) -> TcpProxy:
        self._listen()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_listening()
        self._drop_all()

    @property
    def up(self) -> bool:
        """Whether the proxy accepts connections now."""
        with self._lock:
            return self._listener is not None

    def cut(self) -> int:
        """Refuse new connections and drop every open one; returns how many were dropped."""
        self._stop_listening()
        return self._drop_all()

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        if not self.up:
            self._listen()

    def cut_on(self, needle: bytes) -> None:
        """Cut everything (as :meth:`cut`) when a client next sends ``needle`` (not sent on)."""
        with self._lock:
            self._trigger = needle
            self.triggered.clear()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    # -- internals --------------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                listener.bind((self.host, self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    listener.close()
                    raise
                time.sleep(0.05)
        listener.listen(128)
        listener.settimeout(0.1)
        with self._lock:
            self._listener = listener
        self._accepter = threading.Thread(
            target=self._accept_loop, args=(listener,), name="tcp-proxy-accept", daemon=True
        )
        self._accepter.start()

    def _stop_listening(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._accepter is not None:
            self._accepter.join(5)
            self._accepter = None

    def _drop_all(self) -> int:
        with self._lock:
            pairs, self._pairs = self._pairs, set()
            self.cuts += len(pairs)
        for client, upstream in pairs:
            for sock in (client, upstream):
                _hard_close(sock)
        return len(pairs)

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            with self._lock:
                if self._listener is not listener:
                    return
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _hard_close(client)
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (client, upstream)
            with self._lock:
                if self._listener is not listener:
                    _hard_close(client)
                    _hard_close(upstream)
                    return
                self._pairs.add(pair)
                self.accepted += 1
            threading.Thread(
                target=self._pump, args=(pair, client, upstream, True), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(pair, upstream, client, False), daemon=True
            ).start()

    def _pump(
        self,
        pair: tuple[socket.socket, socket.socket],
        source: socket.socket,
        sink: socket.socket,
        from_client: bool,
    ) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                if from_client and self._should_cut(data):
                    self.cut()
                    self.triggered.set()
                    return
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            known = pair in self._pairs
            self._pairs.discard(pair)
        if known:
            for sock in pair:
                _hard_close(sock)

    def _should_cut(self, data: bytes) -> bool:
        with self._lock:
            if self._trigger is not None and self._trigger in data:
                self._trigger = None
                return True
        return False


def _hard_close(sock: socket.socket) -> None:
    """Close at once (both directions), as a server process that died would."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
