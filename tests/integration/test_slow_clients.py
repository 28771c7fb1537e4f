"""Slow and oversized requests against a real `rapport serve`: a few hundred connections that trickle
their headers do not take the server down, and are closed once their time is up; a head past the
bound is a 431; a trickled body is cut off with a 408; an idle connection is closed; past the
connection cap, with every connection busy, a newcomer gets 503 and Retry-After.

The server runs with a file limit of 256 (the soft default of many systems is 1024, and the attack
scales with it): before these bounds, 300 slow connections took every descriptor, and the server
accepted nothing more, for as long as they stayed. Timeouts are short here so the test is too."""

from __future__ import annotations

import base64
import json
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import free_port
from rapport.collect.service import create_source
from rapport.db.engine import open_database
from rapport.settings import load_settings

pytestmark = pytest.mark.slow

FILE_LIMIT = 256
HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 2.0
KEEP_ALIVE_S = 1.0
SLOW_CLIENTS = 300


@dataclass
class Served:
    url: str
    port: int
    auth: bytes  # a source's Authorization header value
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("slow-clients")
    database_url = f"sqlite:///{root / 'rapport.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(
        RAPPORT_DATABASE_URL=database_url,
        RAPPORT_PROCESSOR="off",
        RAPPORT_HTTP_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
        RAPPORT_HTTP_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S),
        RAPPORT_HTTP_KEEP_ALIVE_S=str(KEEP_ALIVE_S),
    )
    port, log = free_port(), root / "serve.log"
    server = subprocess.Popen(
        ["sh", "-c", f'ulimit -n {FILE_LIMIT} && exec "$0" -m rapport.cli serve --port {port}', sys.executable],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _ready(url):
            assert server.poll() is None and time.monotonic() < deadline, f"serve did not start:\n{log.read_text()}"
            time.sleep(0.1)
        db = open_database(load_settings(database_url=database_url))
        source = create_source(db, "website", "web")
        db.dispose()
        auth = b"Basic " + base64.b64encode(f"{source.write_key}:".encode())
        yield Served(url, port, auth, log)
        assert server.poll() is None, f"the server died:\n{log.read_text()}"
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _open(served: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), timeout=10)


def _answer(sock: socket.socket, timeout_s: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the one answer on the connection; status 0 if it closed unanswered."""
    sock.settimeout(timeout_s)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    if not data:
        return 0, {}, b""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ", 2)[1]), headers, body


class Trickler:
    """Slow clients: each opened a request and sends one more header line every half second."""

    def __init__(self, served: Served, count: int) -> None:
        self.selector = selectors.DefaultSelector()
        self.open: set[socket.socket] = set()
        self.stop = threading.Event()
        for i in range(count):
            sock = _open(served)
            sock.sendall(f"GET /healthz?slow={i} HTTP/1.1\r\nHost: x\r\n".encode())
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)
            self.open.add(sock)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set() and self.open:
            for key, _ in self.selector.select(timeout=0.5):
                self._read(key.fileobj)  # type: ignore[arg-type]
            for sock in list(self.open):
                try:
                    sock.send(b"X-Slow: 1\r\n")
                except OSError:
                    self._closed(sock)

    def _read(self, sock: socket.socket) -> None:
        try:
            if sock.recv(65536):
                return  # the 408: its close follows
        except BlockingIOError:
            return
        except OSError:
            pass
        self._closed(sock)

    def _closed(self, sock: socket.socket) -> None:
        if sock in self.open:
            self.open.discard(sock)
            self.selector.unregister(sock)
            sock.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in list(self.open):
            self._closed(sock)


def test_slow_headers_do_not_take_the_server_down(served: Served) -> None:
    slow = Trickler(served, SLOW_CLIENTS)
    try:
        try:
            answer = httpx.get(f"{served.url}/healthz", timeout=10)
        except httpx.HTTPError as exc:  # before these bounds: no descriptor left to accept it with
            pytest.fail(f"{SLOW_CLIENTS} slow connections kept the server from answering anyone else: {exc!r}")
        assert answer.status_code == 200
        deadline = time.monotonic() + HEADER_TIMEOUT_S + 15
        while slow.open and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not slow.open, f"{len(slow.open)} slow connections still open after the header timeout"
    finally:
        slow.close()
    assert httpx.get(f"{served.url}/healthz", timeout=10).status_code == 200


def test_headers_past_the_bound_are_refused_431(served: Served) -> None:
    within = httpx.get(f"{served.url}/healthz", headers={"X-Big": "a" * 15_000}, timeout=10)
    assert within.status_code == 200
    for head in (b"X-Big: " + b"a" * 20_000 + b"\r\n", b"".join(b"X-%d: v\r\n" % i for i in range(5_000))):
        with _open(served) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
            status, headers, body = _answer(sock)
        assert status == 431
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["code"] == "headers_too_large"
    with _open(served) as sock:  # a head that never ends is refused while it streams, not read whole
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        try:
            for _ in range(1024):
                sock.sendall(b"a" * 1024)
        except OSError:
            pass
        assert _answer(sock)[0] == 431


def test_a_trickled_body_is_cut_off_408(served: Served) -> None:
    with _open(served) as sock:
        sock.sendall(
            b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: "
            + served.auth
            + b'\r\nContent-Length: 1000\r\n\r\n{"batch": ['
        )
        sock.settimeout(0.5)
        answer = b""
        deadline = time.monotonic() + BODY_TIMEOUT_S + 10
        while not answer and time.monotonic() < deadline:
            try:
                sock.send(b" ")  # one byte at a time: far below any rate a real client sends at
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_an_idle_connection_is_closed(served: Served) -> None:
    with _open(served) as sock:  # says nothing at all: closed without an answer
        assert _answer(sock, timeout_s=HEADER_TIMEOUT_S + 10)[0] == 0
    with _open(served) as sock:  # one request, then idle on a kept-alive connection
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, _ = _answer(sock, timeout_s=KEEP_ALIVE_S + 10)  # reads until the server closes
        assert status == 200


def test_past_the_connection_cap_with_every_connection_busy_a_newcomer_gets_503(served: Served) -> None:
    busy: list[socket.socket] = []
    try:
        for _ in range(FILE_LIMIT // 2 + 16):  # past the cap the file limit allows, quicker than any timeout
            sock = _open(served)
            busy.append(sock)
            sock.sendall(  # a body announced and not sent: a request in progress
                b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: "
                + served.auth
                + b"\r\nContent-Length: 100\r\n\r\n"
            )
        time.sleep(0.5)
        answers = [_answer(sock) for sock in busy if select.select([sock], [], [], 0)[0]]
        refused = [(headers, body) for status, headers, body in answers if status == 503]
        assert refused, f"no 503 among {len(busy)} connections: {sorted(a[0] for a in answers)}"
        headers, body = refused[0]
        assert headers["retry-after"] == "1"
        assert json.loads(body)["code"] == "overloaded"
    finally:
        for sock in busy:
            sock.close()
