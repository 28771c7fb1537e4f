"""The HTTP edge below the application: how long a client may take to send a request, how large its
head may be, and how many connections one server process keeps open.

uvicorn's httptools protocol (what `rapport serve` runs) bounds none of these: llhttp keeps no limit
on a request's head (a 2 MB header line is taken whole), no timer runs while a request arrives (a
client that sends one header line every few seconds holds its connection for ever), and the only
timer, keep-alive, starts after a response. So a few hundred slow connections hold as many file
descriptors until the process has none left and accepts nothing more: the server is down. This
protocol, a small subclass of uvicorn's, adds:

- a head bound: the request line and headers past `max_header_bytes` are answered 431, counted in
  the parser's callbacks and, while the head is incomplete, as bytes arrive (httptools buffers a
  header line until its end, so an endless one would otherwise grow for as long as it streams);
- a head deadline: a request's head must arrive within `header_timeout_s` of the connection opening
  (or of its first byte, on a kept-alive connection), else 408 (or a silent close if nothing came);
- a body deadline: `body_timeout_s`, extended by one second for every `MIN_BODY_RATE` bytes that
  arrive, so a body may be large but never trickle (408); time the server itself stops reading, as
  flow control does while the application has not read what came, does not count;
- a connection cap: past `max_connections` open connections, the one that has waited longest
  without a request in progress (idle, or still sending its head) is closed to make room; when every
  connection has a request in progress, the newcomer is answered 503 with `Retry-After`.

Everything else is uvicorn's own code path, so a request that respects the bounds costs two timer
calls more than before."""

from __future__ import annotations

import functools
import json
import resource
import time
from asyncio import TimerHandle
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MIN_BODY_RATE = 1024  # bytes per second a body must average once its first body_timeout_s have passed
FILES_KEPT_FOR_THE_REST = 128  # descriptors left for the database, logs and the processor's pipes


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int
    header_timeout_s: float
    body_timeout_s: float
    max_connections: int


def raise_file_limit() -> int:
    """Lift this process's soft limit on open files to its hard limit (as Go's runtime does at start):
    the soft default (often 1024) is what runs out first under many connections. Returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # a container may forbid it; the cap below then follows the soft limit
    return soft


def connection_cap(wanted: int, file_limit: int) -> int:
    """The most connections this process can really hold: what was asked, within the file limit."""
    return max(1, min(wanted, file_limit - FILES_KEPT_FOR_THE_REST))


def protocol_for(limits: ConnectionLimits) -> Any:
    """What uvicorn's `http` option takes: the protocol class with these limits (picklable, for the
    spawned workers of `serve --workers N`)."""
    return functools.partial(BoundedHttpProtocol, limits=limits)


class HeadTooLarge(Exception):
    pass


class BoundedHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.head_bytes = 0  # of the request line and complete headers, as the parser hands them over
        self.head_raw = 0  # of what arrived while the head was not complete
        self.head_too_large = False
        self.head_timer: TimerHandle | None = None
        self.body_timer: TimerHandle | None = None
        self.body_deadline = 0.0
        self.head_pending = True  # no request in progress: idle, or its head still arriving
        self.waiting_since = time.monotonic()
        self.something_sent = False

    # connection lifetime

    def connection_made(self, transport: Any) -> None:  # noqa: ANN401 - uvicorn's signature
        super().connection_made(transport)
        self.head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def _make_room(self) -> None:
        others = (c for c in self.connections if c is not self and isinstance(c, BoundedHttpProtocol))
        waiting = [c for c in others if c.head_pending]
        if waiting:
            oldest = min(waiting, key=lambda c: c.waiting_since)
            oldest.transport.close()
            oldest.connections.discard(oldest)  # counted out now: its connection_lost comes later
        else:
            self._refuse(503, "overloaded", "the server is at its connection limit; try again shortly", retry_after=1)

    # the request's head

    def data_received(self, data: bytes) -> None:
        if self.head_pending:  # httptools keeps a header line it has not seen the end of: count the bytes
            self.head_raw += len(data)
        super().data_received(data)
        if self.head_pending and self.head_raw > self.limits.max_header_bytes and not self.transport.is_closing():
            self.head_too_large = True
            self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes = 0
        self.something_sent = True
        if self.head_timer is None:  # a kept-alive connection: its next request starts now
            self.head_pending = True
            self.head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > self.limits.max_header_bytes:
            self.head_too_large = True
            raise HeadTooLarge  # httptools stops parsing and raises a parser error: uvicorn's 400 path

    def send_400_response(self, msg: str) -> None:
        if self.head_too_large:
            limit = self.limits.max_header_bytes
            self._refuse(431, "headers_too_large", f"the request line and headers exceed {limit} bytes")
        else:
            super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        self.head_pending = False
        self.head_raw = 0
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().on_headers_complete()
        self.body_deadline = self.loop.time() + self.limits.body_timeout_s
        self.body_timer = self.loop.call_later(self.limits.body_timeout_s, self._body_timed_out)

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:  # answering an earlier request
            self.head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)
        elif self.something_sent:
            limit = self.limits.header_timeout_s
            self._refuse(408, "request_timeout", f"the request's headers did not arrive within {limit:g} s")
        else:
            self.transport.close()  # a connection that never said anything: nothing to answer

    # the request's body

    def on_body(self, body: bytes) -> None:
        self.body_deadline += len(body) / MIN_BODY_RATE
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None
        super().on_message_complete()

    def _body_timed_out(self) -> None:
        self.body_timer = None
        if self.transport.is_closing() or self.cycle is None or not self.cycle.more_body:
            return
        now = self.loop.time()
        if self.flow.read_paused:  # the server stopped reading, not the client
            self.body_deadline = max(self.body_deadline, now + self.limits.body_timeout_s)
        if now < self.body_deadline:
            self.body_timer = self.loop.call_later(self.body_deadline - now, self._body_timed_out)
        elif self.cycle.response_started:
            self.transport.close()
        else:
            self._refuse(408, "request_timeout", "the request body did not arrive in time")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.pipeline:
            self.head_pending = True
            self.waiting_since = time.monotonic()

    # answers written here, below the application

    def _refuse(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        body = json.dumps({"code": code, "message": message}).encode()
        head = [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n",
        ]
        if retry_after is not None:
            head.append(b"retry-after: %d\r\n" % retry_after)
        if self.cycle is not None and not self.cycle.response_complete:
            # The application, if it still runs, reads a disconnect and its answer goes nowhere.
            self.cycle.response_complete = self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.write(b"".join(head) + b"\r\n" + body)
        self.transport.close()

    def _cancel_timers(self) -> None:
        for timer in (self.head_timer, self.body_timer):
            if timer is not None:
                timer.cancel()
        self.head_timer = self.body_timer = None


_REASONS = {
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}
