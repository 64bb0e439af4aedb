"""Fixtures: the real aiops_exporter binary on a free loopback port, and small HTTP servers
that stand between the client and it (stalling, answering 503, recording)."""

from __future__ import annotations

import http.server
import importlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

HERE = Path(__file__).resolve().parent
PKG = HERE.parent
REPO = PKG.parents[2]
sys.path.insert(0, str(PKG / "src"))

LISTEN_RE = re.compile(r'msg="Listening on" address=(\S+)')

CONFIG = """
models:
  guarded:
    features:
      amount: {type: numeric, min: 0, max: 1000}
      country: {type: categorical, allowed: [DE, FR, US]}
"""


def missing(what: str, how: str) -> None:
    msg = f"{what} is missing: {how}"
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


def need(module: str) -> Any:
    """Imports an optional test dependency (numpy, pandas, sklearn from Debian): a skip on a
    developer's machine without it, a failure under CI."""
    if os.environ.get("CI") == "true":
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"{module} is missing: apt-get install python3-{module}")


def exporter_binary() -> str:
    d = os.environ.get("OPSCENTRE_BIN_DIR") or str(REPO / "bin")
    p = os.path.join(d, "aiops_exporter")
    if not os.access(p, os.X_OK):
        missing(p, "run `make binaries`")
    return p


class Exporter:
    """A running aiops_exporter; stop() and start() keep its port and state directory."""

    def __init__(self, tmp: Path, port: int = 0, args: Sequence[str] = (), scheme: str = "http") -> None:
        self.tmp = tmp
        self.cfg = tmp / "exporter.yml"
        self.cfg.write_text(CONFIG)
        self.port = port
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.log: List[str] = []
        self.url = ""
        self.args = list(args)
        self.scheme = scheme

    def start(self) -> "Exporter":
        args = [
            exporter_binary(),
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--config.file={self.cfg}",
            f"--storage.path={self.tmp / 'data'}",
            "--storage.snapshot-interval=1h",
            *self.args,
        ]
        proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        self.proc = proc
        found = threading.Event()

        def read() -> None:
            assert proc.stderr is not None
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                self.log.append(line)
                m = LISTEN_RE.search(line)
                if m and not found.is_set():
                    self.port = int(m.group(1).rsplit(":", 1)[1])
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(30):
            proc.kill()
            raise RuntimeError("aiops_exporter did not listen within 30 s:\n" + "\n".join(self.log[-20:]))
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.proc = None

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as r:
            return r.read().decode()  # type: ignore[no-any-return]

    def value(self, name: str, /, **labels: str) -> float:
        """Sum of the series of name whose labels include these (0 if none)."""
        return metric_value(self.metrics(), name, **labels)


SERIES_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metric_value(text: str, name: str, /, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        m = SERIES_RE.match(line)
        if not m or m.group(1) != name:
            continue
        have = dict(LABEL_RE.findall(m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


@pytest.fixture(scope="session")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    e = Exporter(tmp_path_factory.mktemp("exporter")).start()
    yield e
    e.stop()


@pytest.fixture
def own_exporter(tmp_path: Path) -> Iterator[Exporter]:
    """An exporter of the test's own, which it may stop and restart."""
    e = Exporter(tmp_path)
    yield e
    e.stop()


@pytest.fixture
def model() -> str:
    """A model name of the test's own, so counts on the shared exporter start at zero."""
    return "m-" + uuid.uuid4().hex[:10]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# A handler decides per request: return (status, headers, body), or None to forward it.
Decide = Callable[[int, "Request"], Optional[Tuple[int, Dict[str, str], bytes]]]


class Request:
    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body


class Front:
    """An HTTP server in front of an exporter: records requests, and for each one either
    answers itself (a stall, a 503, a 400) or forwards it to the upstream exporter."""

    def __init__(self, upstream: Optional[str], decide: Decide) -> None:
        self.upstream = upstream
        self.decide = decide
        self.requests: List[Request] = []
        self.close_after_answer = False
        self.lock = threading.Lock()
        front = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                req = Request("POST", self.path, dict(self.headers), body)
                with front.lock:
                    front.requests.append(req)
                    i = len(front.requests) - 1
                ans = front.decide(i, req)
                if ans is None:
                    assert front.upstream is not None
                    r = urllib.request.Request(front.upstream + self.path, data=body, method="POST")
                    for k in ("Content-Type", "Content-Encoding"):
                        if self.headers.get(k):
                            r.add_header(k, self.headers[k])
                    try:
                        with urllib.request.urlopen(r, timeout=30) as resp:
                            ans = (resp.status, {}, resp.read())
                    except urllib.error.HTTPError as e:
                        ans = (e.code, {}, e.read())
                status, headers, data = ans
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    if front.close_after_answer:
                        self.close_connection = True  # silently: as an idle timeout would
                except OSError:
                    pass  # the client gave up (a stall past its timeout)

            do_PUT = do_POST

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def front() -> Iterator[Callable[[Optional[str], Decide], Front]]:
    made: List[Front] = []

    def make(upstream: Optional[str], decide: Decide) -> Front:
        f = Front(upstream, decide)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()
