"""Total deadlines and size caps for the HTTP calls to SEI and SIGRC (on requests/urllib3).

requests' ``timeout=(connect, read)`` bounds the wait for the connection and *each* wait for
bytes, never the whole answer: a server that trickles one byte every few seconds keeps a call
(and the worker running it, which renews its lease meanwhile) for as long as it likes. This
module adds what requests lacks:

- :func:`bounded` opens a *call deadline* on the current thread. A single watchdog thread shuts
  down the socket of every connection the call used (``shutdown(SHUT_RDWR)``) when the deadline
  passes, wherever the call is: waiting for the headers, reading the body, or sending. The
  blocked read returns at once, requests raises, and the caller turns that into
  :class:`CallDeadlineExceeded`, which says whether any byte of the request had left
  (``sent``): SEI may have acted on a request it received, never on one it did not.
- :func:`install` mounts, on a session, an adapter whose connections report to the deadline
  open on their thread (and count the bytes they send).
- :func:`read_body` reads a streamed response into memory up to a cap, refusing a declared
  ``Content-Length`` over it unread and stopping at the first chunk past it
  (:class:`ResponseTooLarge`), so memory never holds more than the cap.

Neither exception carries anything of the request or the answer; each boundary (the SEI
transport's :func:`sei_bridge.sei.faults.translate`, ``SigrcClient._send``) translates them into
:mod:`sei_bridge.errors`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, cast

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool

__all__ = [
    "CHUNK_SIZE",
    "CallDeadline",
    "CallDeadlineExceeded",
    "ResponseTooLarge",
    "bounded",
    "fired",
    "install",
    "read_body",
]

log = logging.getLogger(__name__)

#: bytes asked of the socket at a time while reading a capped body
CHUNK_SIZE = 64 * 1024


class CallDeadlineExceeded(Exception):
    """A call did not finish within its total deadline. ``sent``: some of the request had
    been written to the server (it may have acted on it)."""

    def __init__(self, seconds: float, *, sent: bool) -> None:
        super().__init__(f"call not finished within its {seconds:g} s deadline")
        self.seconds = seconds
        self.sent = sent


class ResponseTooLarge(Exception):
    """An answer is larger than the cap; ``declared`` is its Content-Length when that told."""

    def __init__(self, limit: int, *, declared: int | None = None) -> None:
        told = f" (Content-Length {declared})" if declared is not None else ""
        super().__init__(f"answer larger than the {limit} bytes allowed{told}")
        self.limit = limit
        self.declared = declared


class CallDeadline:
    """The deadline of one call, shared by the calling thread and the watchdog."""

    def __init__(self, seconds: float) -> None:
        if not seconds > 0 or not math.isfinite(seconds):
            raise ValueError("a call deadline must be a positive, finite number of seconds")
        self.seconds = seconds
        self.expires_at = time.monotonic() + seconds
        self._lock = threading.Lock()
        #: the sockets the call used (kept: http.client forgets a socket it will close)
        self._sockets: list[Any] = []
        self._finished = False
        #: the watchdog shut the call's connections down
        self.fired = False
        #: some bytes of the request were written to a connection
        self.sent = False

    def remaining(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self.expires_at - time.monotonic())

    def exceeded(self) -> CallDeadlineExceeded:
        """The exception to raise for this deadline."""
        return CallDeadlineExceeded(self.seconds, sent=self.sent)

    def _attach(self, sock: Any) -> None:
        with self._lock:
            if self._finished:
                return
            if sock not in self._sockets:
                self._sockets.append(sock)
            late = self.fired
        if late:
            _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def _finish(self) -> None:
        with self._lock:
            self._finished = True
            self._sockets.clear()


def _shut(sock: Any) -> None:
    # socket.socket's own shutdown, also for an SSLSocket (whose override would drop its TLS
    # state under the reading thread's feet); an OSError: already closed, nothing to interrupt
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread firing deadlines in order of expiry."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, CallDeadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: CallDeadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.expires_at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                # started lazily, and again in a forked child (threads do not survive a fork)
                self._thread = threading.Thread(
                    target=self._run, name="sei-bridge-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                expires_at, _, deadline = self._heap[0]
                left = expires_at - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                heapq.heappop(self._heap)
            try:
                deadline._fire()
            except Exception as exc:  # loop boundary: the other deadlines must still fire
                log.error("firing a call deadline failed: %s", type(exc).__name__)


_WATCHDOG = _Watchdog()
_local = threading.local()


def _open_deadlines() -> list[CallDeadline]:
    stack: list[CallDeadline] | None = getattr(_local, "deadlines", None)
    if stack is None:
        stack = _local.deadlines = []
    return stack


@contextmanager
def bounded(seconds: float) -> Iterator[CallDeadline]:
    """Bound everything the ``with`` block does over a session prepared by :func:`install`
    to ``seconds`` in total. Nested blocks each hold: a connection answers to all of them."""
    deadline = CallDeadline(seconds)
    stack = _open_deadlines()
    stack.append(deadline)
    _WATCHDOG.watch(deadline)
    try:
        yield deadline
    finally:
        deadline._finish()
        stack.remove(deadline)


def _report(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return  # not connected yet: reported again by connect()
    for deadline in _open_deadlines():
        deadline._attach(sock)


def _report_sent() -> None:
    for deadline in _open_deadlines():
        deadline.sent = True


def fired() -> CallDeadline | None:
    """The innermost deadline open on this thread that has passed, if any: a call failing
    under it failed because of it (its sockets were shut down)."""
    for deadline in reversed(_open_deadlines()):
        if deadline.fired:
            return deadline
    return None


def send(request: Callable[[], requests.Response]) -> requests.Response:
    """``request()``; one that failed because a call deadline fired raises that deadline's
    error instead of requests' (which only says the connection broke)."""
    try:
        return request()
    except requests.RequestException as exc:
        passed = fired()
        if passed is not None:
            raise passed.exceeded() from exc
        raise


class _BoundedConnectionMixin:
    """Connections that answer to the deadlines open on the thread that uses them."""

    sock: Any
    auto_open: int

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _report(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        # a connection taken from the pool is already connected: report it before sending
        _report(self)
        super().request(*args, **kwargs)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self.sock is None and self.auto_open:
            # connect first, so that a connection that never opened is "not sent"
            self.connect()
        if fired() is not None:
            # the deadline passed while connecting: nothing of the request has left
            raise ConnectionAbortedError("the call deadline passed before sending")
        _report_sent()
        super().send(data)  # type: ignore[misc]


class _HTTPConnection(_BoundedConnectionMixin, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_BoundedConnectionMixin, urllib3.connection.HTTPSConnection):
    pass


class _HTTPConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class BoundedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with connections that answer to :func:`bounded` deadlines."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _HTTPConnectionPool,
            "https": _HTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = {
            "http": _HTTPConnectionPool,
            "https": _HTTPSConnectionPool,
        }
        return manager


def install(session: requests.Session) -> requests.Session:
    """Mount :class:`BoundedAdapter` on ``session`` for http and https; returns it."""
    for prefix in ("http://", "https://"):
        current = session.adapters.get(prefix)
        if not isinstance(current, BoundedAdapter):
            session.mount(prefix, BoundedAdapter())
    return session


def declared_length(response: requests.Response) -> int | None:
    """The response's Content-Length when it is a plain number."""
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 20 else None


def read_body(response: requests.Response, *, limit: int, deadline: CallDeadline) -> bytes:
    """The body of a streamed ``response``, at most ``limit`` bytes (decoded, so a compressed
    bomb counts at its real size), read under ``deadline``.

    Raises :class:`ResponseTooLarge` (the rest is not read) and :class:`CallDeadlineExceeded`;
    requests' own errors for a body that broke off propagate. Does not close ``response``.
    """
    declared = declared_length(response)
    if declared is not None and declared > limit:
        raise ResponseTooLarge(limit, declared=declared)
    # chunks joined once at the end: a growing bytearray is copied as it grows, and a refused
    # one leaves the allocator with large holes (measured: 255 MiB peak for a 32 MiB cap)
    chunks: list[bytes] = []
    size = 0
    body = cast(Generator[bytes, None, None], response.iter_content(chunk_size=CHUNK_SIZE))
    try:
        for chunk in body:
            size += len(chunk)
            if size > limit:
                chunks.clear()
                raise ResponseTooLarge(limit)
            chunks.append(chunk)
    except ResponseTooLarge:
        # the rest is never read: close the generator and the connection under it, or the
        # socket stays open (the suspended generator keeps it) with the server still sending
        body.close()
        response.raw.close()
        raise
    except requests.RequestException as exc:
        passed = fired() or (deadline if deadline.fired else None)
        if passed is not None:
            raise passed.exceeded() from exc
        raise
    passed = fired() or (deadline if deadline.fired else None)
    if passed is not None:
        # a body without Content-Length simply "ends" when its socket is shut down
        raise passed.exceeded()
    return b"".join(chunks)
