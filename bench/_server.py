"""Start and stop a real `rapport serve` on loopback for the benchmarks, and read its memory."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
RAPPORT = str(VENV_BIN / "rapport") if (VENV_BIN / "rapport").exists() else "rapport"
HOST = "127.0.0.1"  # benchmarks never leave loopback


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def fresh_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_TMPDIR", "/tmp")))  # e.g. /dev/shm: no disk


def env_for(db_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_DATABASE_URL"] = f"sqlite:///{db_path}"
    env.update(extra)
    return env


def last_line(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([RAPPORT, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        sys.exit(f"rapport {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1].strip()


@dataclass
class Server:
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    patches: str = ""  # BENCH_PATCHES for bench/_patched_serve.py; empty: the real `rapport serve`
    options: tuple[str, ...] = ()  # more `serve` options, e.g. ("--workers", "2")

    def start(self, log_dir: Path, timeout_s: float = 60.0) -> None:
        self.log_path = log_dir / f"serve-{self.port}.log"
        log = self.log_path.open("wb")
        command = [RAPPORT]
        env = dict(self.env)
        if self.patches:
            command = [str(VENV_BIN / "python"), str(ROOT / "bench" / "_patched_serve.py")]
            env["BENCH_PATCHES"] = self.patches
        self.proc = subprocess.Popen(
            [*command, "serve", "--host", HOST, "--port", str(self.port), *self.options],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"rapport serve exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        sys.exit(f"rapport serve did not become ready within {timeout_s}s")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def family(self) -> list[int]:
        """The server process and every process below it (the processor child)."""
        return [self.pid, *descendants(self.pid)]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown; it terminates the processor
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _tcp_sockets() -> Iterator[list[str]]:
    """The kernel's rows of TCP sockets (IPv4 and IPv6), split into columns."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            yield line.split()


def listening(port: int, pids: list[int]) -> list[int]:
    """Those of `pids` that hold the socket listening on `port`: the server and its uvicorn workers,
    not the processor (spawned before the socket was opened, and spawn passes on no descriptors)."""
    inodes = set()
    for cols in _tcp_sockets():
        if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
            inodes.add(f"socket:[{cols[9]}]")
    return [pid for pid in pids if inodes & _open_files(pid)]


def connection_owner(port: int, client_port: int, pids: list[int]) -> int | None:
    """Which of `pids` holds the server end of the loopback connection from `client_port`."""
    for cols in _tcp_sockets():
        local, remote = int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16)
        if local == port and remote == client_port:
            inode = f"socket:[{cols[9]}]"
            return next((pid for pid in pids if inode in _open_files(pid)), None)
    return None


def _open_files(pid: int) -> set[str]:
    links = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return links
    for fd in fds:
        try:
            links.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue  # closed meanwhile
    return links


def status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spread_connections(
    port: int, count: int, workers: list[int], timeout_s: float = 60.0
) -> list[http.client.HTTPConnection]:
    """`count` keep-alive connections, as evenly over the workers as they go: the kernel hands each
    new connection to whichever worker accepts first, and with a few long-lived connections that
    can leave a worker idle, so one that lands on a worker holding its share already is replaced.
    A worker still starting accepts nothing yet: keep trying until it does, within `timeout_s`."""
    share = -(-count // len(workers))
    held: dict[int, int] = dict.fromkeys(workers, 0)
    connections: list[http.client.HTTPConnection] = []
    deadline = time.monotonic() + timeout_s
    while len(connections) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"could not spread {count} connections over {len(workers)} workers in {timeout_s}s")
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        conn.request("GET", "/healthz")  # answered: the worker that accepted it holds it now
        conn.getresponse().read()
        owner = connection_owner(port, conn.sock.getsockname()[1], workers)
        if owner is None or held[owner] < share:
            held[owner if owner is not None else workers[0]] += 1
            connections.append(conn)
        else:
            conn.close()
            time.sleep(0.01)
    return connections


def wait_for_workers(server: Server, workers: int, timeout_s: float = 60.0) -> tuple[list[int], list[int]]:
    """(server pids, processor pids) once the server and each of its workers hold the listening
    socket: the server alone with one worker, the idle uvicorn parent and N workers with more."""
    deadline = time.monotonic() + timeout_s
    while True:
        family = server.family()
        serving = listening(server.port, family)
        if len(serving) >= (1 if workers == 1 else workers + 1):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(serving)} of {workers} workers came up within {timeout_s}s")
        time.sleep(0.1)
    if workers > 1:
        time.sleep(1.0)  # a worker holds the socket before its lifespan has opened the database
    processors = [
        p
        for p in family
        if p not in serving and "multiprocessing" in cmdline(p) and "resource_tracker" not in cmdline(p)
    ]
    return serving, processors
