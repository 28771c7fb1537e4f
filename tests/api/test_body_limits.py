"""A request body is bounded before it is read and before its sender is known, against a real server
over a socket: a Content-Length over the bound is a 413 with nothing read; a chunked body is counted
as it streams and refused once past the bound."""

from __future__ import annotations

import socket
import time

from factories import basic_auth
from rapport.collect.model import LARGEST_BATCH_BYTES

MIB = 1024 * 1024


def _status(sock: socket.socket) -> int:
    sock.settimeout(10)
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split(b" ", 2)[1])


def _open(live_server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", live_server.port), timeout=10)


def test_a_declared_length_over_the_bound_is_refused_unread(live_server, source):
    auth = basic_auth(source)["Authorization"].encode()
    for path, length in (("/v1/batch", LARGEST_BATCH_BYTES + 1), ("/api/v1/messages", 2 * MIB), ("/v1/batch", 10**12)):
        with _open(live_server) as sock:
            started = time.monotonic()
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
                + b"Authorization: "
                + auth
                + f"\r\nContent-Length: {length}\r\n\r\n".encode()
            )  # and not one byte of the body
            assert _status(sock) == 413, path
            assert time.monotonic() - started < 5, "answered without waiting for the body"


def test_a_chunked_body_is_refused_once_past_the_bound(live_server, source):
    auth = basic_auth(source)["Authorization"].encode()
    with _open(live_server) as sock:
        sock.sendall(
            b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: "
            + auth
            + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        piece = b"x" * (256 * 1024)
        sent = 0
        try:
            while sent <= LARGEST_BATCH_BYTES + MIB:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
        except OSError:
            pass  # the server stopped reading: what it answered is below
        assert _status(sock) == 413


def test_a_body_within_the_bound_is_taken(live_server, source):
    import httpx

    res = httpx.post(
        f"{live_server.url}/v1/batch",
        json={"batch": [{"type": "track", "userId": "u", "event": "Bounded"}]},
        headers=basic_auth(source),
        timeout=10,
    )
    assert res.status_code == 200, res.text
