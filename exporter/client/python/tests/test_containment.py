"""Containments from the real incidentd: decide follows an apply and a lift while the
application runs, keeps the last state while incidentd is away, then fails open."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

import opscentre
from opscentre import Containments, Decision, decide

from conftest import REPO, missing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


class Incidentd:
    def __init__(self, tmp: Path) -> None:
        d = os.environ.get("OPSCENTRE_BIN_DIR") or str(REPO / "bin")
        self.bin = os.path.join(d, "incidentd")
        if not os.access(self.bin, os.X_OK):
            missing(self.bin, "run `make binaries`")
        self.tmp = tmp
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (tmp / "incidentd.yml").write_text(
            "api:\n  tokens:\n"
            f"  - {{subject: alice, role: responder, token_sha256: {_sha('alice-token')}}}\n"
            f"  - {{subject: app, role: application, token_sha256: {_sha('app-token')}}}\n")
        self.proc: Any = None

    def start(self) -> "Incidentd":
        self.proc = subprocess.Popen(
            [self.bin, f"--config.file={self.tmp / 'incidentd.yml'}", f"--storage.path={self.tmp / 'i.db'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/-/ready", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("incidentd did not become ready")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def call(self, method: str, path: str, body: Dict[str, Any]) -> Any:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method=method,
                                     headers={"Authorization": "Bearer alice-token", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())


@pytest.fixture
def incidentd(tmp_path: Path) -> Iterator[Incidentd]:
    i = Incidentd(tmp_path).start()
    yield i
    i.stop()


def wait(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    assert pred()


def test_decide_follows_incidentd(incidentd: Incidentd) -> None:
    incidentd.call("POST", "/api/v1/changes", {"kind": "model_version", "model": "fraud", "version": "v2", "title": "fraud v2"})
    w = Containments(incidentd.url, "app-token", ["fraud"], refresh=0.1)
    try:
        wait(lambda: not w.stale)
        assert w.decide("fraud", "v2").action == "serve"
        c = incidentd.call("POST", "/api/v1/containments", {"model": "fraud", "version": "v2", "action": "fallback",
                                                          "fallback_version": "v1", "reason": "AUC drop"})
        wait(lambda: w.decide("fraud", "v2").action == "fallback")
        d = w.decide("fraud", "v2")
        assert d == Decision("fallback", "v1", "AUC drop", c["id"], "fallback")
        assert w.decide("fraud", "v1").action == "serve"
        incidentd.call("POST", f"/api/v1/containments/{c['id']}/lift", {"reason": "fixed"})
        wait(lambda: w.decide("fraud", "v2").action == "serve")

        # incidentd goes away: the last state stays for max_stale, then decide serves.
        incidentd.call("POST", "/api/v1/containments", {"model": "fraud", "action": "disable", "reason": "toxic"})
        wait(lambda: w.decide("fraud", "v2").action == "disabled")
        incidentd.stop()
        assert not w.refresh()
        assert w.decide("fraud", "v2").action == "disabled"
    finally:
        w.close()


def test_stale_then_fail_open() -> None:
    now = [1000.0]
    w = Containments("http://127.0.0.1:9", None, ["fraud"], refresh=3600, max_stale=60, clock=lambda: now[0])
    try:
        d = w.decide("fraud", "v2")
        assert d.action == "serve" and "not reached" in d.reason
        assert w.stale
        with w._lock:  # as if a poll had read a disable
            w._by_model["fraud"] = [{"id": 3, "model": "fraud", "action": "disable", "reason": "r"}]
            w._last = now[0]
        assert w.decide("fraud", "v1").action == "disabled"
        now[0] += 61
        d = w.decide("fraud", "v1")
        assert d.action == "serve" and "max_stale" in d.reason
    finally:
        w.close()


def test_decide_rules_match_go() -> None:
    cs = [
        {"id": 1, "model": "fraud", "version": "v2", "action": "fallback", "fallback_version": "v1", "reason": "drift"},
        {"id": 3, "model": "fraud", "action": "block_inputs", "match": {"feature": "amount", "value": "0.5"}, "reason": "amt"},
        {"id": 4, "model": "fraud", "action": "block_inputs", "match": {"input_class": "pdf"}, "reason": "pdf"},
        {"id": 5, "model": "fraud", "action": "disable", "reason": "old", "lifted_at": "2026-12-07T20:00:00Z"},
        {"id": 6, "model": "fraud", "action": "disable", "reason": "expired", "expires_at": "2020-01-01T00:00:00Z"},
    ]
    assert decide(cs, "fraud", "v2") == Decision("fallback", "v1", "drift", 1, "fallback")
    assert decide(cs, "fraud", "v2", {"amount": 0.5}) == Decision("blocked", "v2", "amt", 3, "block_inputs")
    assert decide(cs, "fraud", "v9", {"input_class": "pdf"}).containment_id == 4
    assert decide(cs, "fraud", "v1").action == "serve"
    assert decide(cs, "ocr", "v2", {"input_class": "pdf"}).action == "serve"


def test_events_carry_the_containment() -> None:
    from opscentre._event import check_event, containment_value

    d = Decision("fallback", "v1", "r", 7, "fallback")
    assert containment_value(d) == {"id": 7, "action": "fallback"}
    assert check_event({"model": "m", "containment": {"id": 7, "action": "disable"}})["containment"] == {"id": 7, "action": "disable"}
    for bad, field in [({"id": 0, "action": "fallback"}, "containment.id"), ({"id": 1, "action": "reroute"}, "containment.action"),
                       ({"id": 1, "action": "disable", "by": "x"}, "containment.by"), ("fallback", "containment")]:
        with pytest.raises(ValueError, match=field):
            check_event({"model": "m", "containment": bad})
    assert opscentre.CONTAINMENT_ACTIONS == {"fallback", "disable", "block_inputs"}


def test_log_prediction_counts_contained_traffic(exporter: Any) -> None:
    c = opscentre.Client(exporter.url, model="contained-py", version="v1", flush_interval=0.05)
    try:
        assert c.log_prediction({"x": 1}, "a", containment=Decision("fallback", "v1", "r", 7, "fallback"))
        assert c.log_prediction({"x": 1}, "a", containment=Decision("serve", "v1"))
        assert c.flush(timeout=5)
    finally:
        c.close()
    assert exporter.value("aiops_contained_events_total", model="contained-py", version="v1", action="fallback") == 1
    assert exporter.value("aiops_events_total", model="contained-py", version="v1") == 2
