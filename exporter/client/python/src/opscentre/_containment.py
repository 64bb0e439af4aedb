"""Obeying incidentd's containments: a background poller and ``decide``.

Mirrors the Go client's Watcher (exporter/client): the active containments of the
application's models are polled from incidentd with ``If-None-Match``, ``decide`` answers
from memory, and when incidentd cannot be reached the last known state stays in force for
``max_stale`` seconds, after which (and before the first successful poll) ``decide``
serves: an incidentd outage must not take the application down.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

__all__ = ["Containments", "Decision", "decide"]

log = logging.getLogger("opscentre")

#: The feature naming a request's input class, which ``match.input_class`` compares.
INPUT_CLASS_FEATURE = "input_class"
_MAX_BODY = 8 << 20


@dataclass(frozen=True)
class Decision:
    """What to do with one request: ``action`` is serve, fallback (run ``version``),
    disabled (serve the non-AI alternative) or blocked (refuse the input)."""

    action: str
    version: Optional[str] = None
    reason: str = ""
    containment_id: int = 0
    containment_action: str = ""


def _parse_time(s: Any) -> Optional[float]:
    if not isinstance(s, str) or not s:
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and math.isfinite(v):
            return str(int(v))
        return repr(v)
    if v is None:
        return ""
    return str(v)


def _matches(m: Mapping[str, Any], features: Mapping[str, Any]) -> bool:
    if m.get("input_class"):
        return INPUT_CLASS_FEATURE in features and _text(features[INPUT_CLASS_FEATURE]) == m["input_class"]
    f = m.get("feature")
    return isinstance(f, str) and f != "" and f in features and _text(features[f]) == m.get("value")


def decide(containments: Sequence[Mapping[str, Any]], model: str, version: Optional[str],
           features: Optional[Mapping[str, Any]] = None, now: Optional[float] = None) -> Decision:
    """Applies active containments (incidentd's JSON, oldest first) to one request: a
    disable wins over a block, a block over a fallback, the oldest over a newer one; a
    fallback never applies to its own fallback version."""
    features = features or {}
    now = time.time() if now is None else now
    block = fall = None
    for c in containments:
        if c.get("model") != model or c.get("lifted_at"):
            continue
        exp = _parse_time(c.get("expires_at"))
        if exp is not None and now >= exp:
            continue
        if c.get("version") and c.get("version") != version:
            continue
        action = c.get("action")
        if action == "disable":
            return Decision("disabled", None, c.get("reason", ""), int(c.get("id", 0)), "disable")
        if action == "block_inputs" and block is None and isinstance(c.get("match"), Mapping) and _matches(c["match"], features):
            block = c
        elif action == "fallback" and fall is None and c.get("fallback_version") != version:
            fall = c
    if block is not None:
        return Decision("blocked", version, block.get("reason", ""), int(block.get("id", 0)), "block_inputs")
    if fall is not None:
        return Decision("fallback", fall.get("fallback_version"), fall.get("reason", ""), int(fall.get("id", 0)), "fallback")
    return Decision("serve", version)


class Containments:
    """Keeps the active containments of ``models`` from incidentd at ``url``, read with an
    ``application`` token, refreshed every ``refresh`` seconds in a daemon thread."""

    def __init__(self, url: str, token: Optional[str] = None, models: Sequence[str] = (), *,
                 refresh: float = 5.0, max_stale: float = 600.0, timeout: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        p = urllib.parse.urlsplit(url)
        if p.scheme not in ("http", "https") or not p.netloc:
            raise ValueError(f"url {url!r}: expected incidentd's http(s) URL, e.g. http://127.0.0.1:9478")
        if refresh <= 0 or max_stale <= 0 or timeout <= 0:
            raise ValueError("refresh, max_stale and timeout must be positive seconds")
        if len(models) > 1000:
            raise ValueError(f"models: at most 1000, got {len(models)}")
        self._base = url.rstrip("/")
        self._token = token
        self._models: List[str] = list(models) or [""]
        self._refresh, self._max_stale, self._timeout, self._clock = refresh, max_stale, timeout, clock
        self._lock = threading.Lock()
        self._by_model: Dict[str, List[Mapping[str, Any]]] = {}
        self._etags: Dict[str, str] = {}
        self._last: Optional[float] = None
        self.last_error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="opscentre-containments", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self._refresh)

    def refresh(self) -> bool:
        """Polls incidentd now; True when every model was read. A failed poll keeps the
        last known state."""
        fresh: Dict[str, List[Mapping[str, Any]]] = {}
        etags = dict(self._etags)
        try:
            for m in self._models:
                q = {"active": "true"}
                if m:
                    q["model"] = m
                req = urllib.request.Request(f"{self._base}/api/v1/containments?{urllib.parse.urlencode(q)}")
                if self._token:
                    req.add_header("Authorization", f"Bearer {self._token}")
                if m in etags:
                    req.add_header("If-None-Match", etags[m])
                try:
                    with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                        body = json.loads(resp.read(_MAX_BODY + 1)[:_MAX_BODY])
                        fresh[m] = list(body.get("containments") or [])
                        etags[m] = resp.headers.get("ETag", "")
                except urllib.error.HTTPError as e:
                    if e.code != 304:
                        raise
        except Exception as e:  # noqa: BLE001 - any failure keeps the last known state
            with self._lock:
                self.last_error = e
            log.warning("cannot refresh containments; keeping the last known ones: %s", e)
            return False
        with self._lock:
            self._by_model.update(fresh)
            self._etags = etags
            self._last = self._clock()
            self.last_error = None
        return True

    @property
    def stale(self) -> bool:
        """No successful poll yet, or the last is older than ``max_stale``."""
        with self._lock:
            return self._last is None or self._clock() - self._last > self._max_stale

    def decide(self, model: str, version: Optional[str] = None, features: Optional[Mapping[str, Any]] = None) -> Decision:
        """What to do with one request of ``model`` at ``version`` with ``features``."""
        now = self._clock()
        with self._lock:
            if self._last is None:
                return Decision("serve", version, "containments unknown: incidentd not reached yet")
            if now - self._last > self._max_stale:
                return Decision("serve", version, f"containments unknown: last refreshed {now - self._last:.0f}s ago, more than max_stale")
            cs = self._by_model.get(model if self._models != [""] else "", [])
        return decide(cs, model, version, features, now=now)

    def close(self) -> None:
        """Stops the poller."""
        self._stop.set()
        self._thread.join(timeout=self._timeout + 1)
