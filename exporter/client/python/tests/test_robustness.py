"""Whatever the other end answers, the client neither raises into the caller nor stops
sending: malformed answers, odd Retry-After values, rejections that point nowhere."""

from __future__ import annotations

import email.utils
import random
import time
from typing import Any, Dict, List, Optional, Tuple

import opscentre
from conftest import Exporter, Request
from opscentre._transport import retry_after


def test_retry_after_values() -> None:
    now = 1_800_000_000.0
    assert retry_after("2", now) == 2.0
    assert retry_after(" 0.5 ", now) == 0.5
    assert retry_after("-3", now) == 0.0
    assert retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == 30.0
    assert retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    for bad in (None, "", "soon", "Wed, 99 Foo 2026", "\x00"):
        assert retry_after(bad, now) is None


ANSWERS: List[Tuple[int, Dict[str, str], bytes]] = [
    (200, {}, b"not json"),
    (200, {}, b"[1, 2, 3]"),
    (200, {}, b'{"accepted": "many"}'),
    (200, {}, b'{"accepted": 0, "rejected": [{"index": 999, "field": 1}]}'),
    (200, {}, b'{"accepted": 0, "rejected": [{"index": "x"}, null, 7, {"index": -1}]}'),
    (200, {}, b'{"accepted": 0, "rejected": {"index": 0}}'),
    (200, {}, b""),
    (200, {}, b"\xff\xfe garbage" * 100),
    (503, {"Retry-After": "soon"}, b""),
    (503, {"Retry-After": "-1"}, b"busy"),
    (429, {"Retry-After": "1e9"}, b""),  # capped by max_retry_after
    (302, {"Location": "http://elsewhere/"}, b""),
    (401, {}, b"who are you"),
    (500, {}, b"\x00" * 2_000_000),  # an answer larger than the client reads
]


def test_malformed_answers_never_stop_the_client(exporter: Exporter, front: Any, model: str) -> None:
    rng = random.Random(7)
    seen: List[opscentre.Rejection] = []
    answers = ANSWERS * 2
    rng.shuffle(answers)

    def decide(i: int, req: Request) -> Optional[Tuple[int, Dict[str, str], bytes]]:
        return answers[i] if i < len(answers) else None  # then the real exporter

    f = front(exporter.url, decide)
    c = opscentre.Client(
        f.url, model=model, batch_size=3, min_backoff=0.005, max_backoff=0.01, max_retry_after=0.05,
        max_retries=1, on_rejection=seen.append,
    )
    try:
        for i in range(len(answers)):
            assert c.log_prediction({"x": i}, "a")
            assert c.flush(10)
        t = time.monotonic()
        for i in range(30):
            c.log_prediction({"x": i}, "b")
        assert c.flush(10) and time.monotonic() - t < 5
        assert exporter.value("aiops_events_total", model=model) >= 30
        assert c._poster is not None and c._poster.is_alive() and c._thread is not None and c._thread.is_alive()
    finally:
        c.close(1)
    # The one rejection that names a field but an index outside the batch still arrives.
    assert all(r.item == {} for r in seen)


def test_a_callback_that_raises_is_logged_and_ignored(exporter: Exporter, model: str) -> None:
    def boom(r: opscentre.Rejection) -> None:
        raise RuntimeError("callback bug")

    with opscentre.Client(exporter.url, model=model, on_rejection=boom, validate=False) as c:
        c.log_prediction(latency=-1)
        c.log_prediction({"x": 1}, "a")
        assert c.flush(10)
        c.log_prediction({"x": 2}, "a")
        assert c.flush(10)
        st = c.stats()
    assert (st.sent, st.rejected) == (2, 1)


def test_random_events_the_client_accepts_the_exporter_accepts(exporter: Exporter, model: str) -> None:
    """Random values in every field: either the client raises ValueError, or the exporter
    accepts the event — never a rejection the client could have caught."""
    rng = random.Random(11)
    nan, inf = float("nan"), float("inf")
    num = [0, 1, 2.5, 1e300, -1, -0.5, nan, inf, -inf, "1", True, None]
    pools: Dict[str, List[Any]] = {
        "latency": num, "cost": num, "input_text_length": num, "queue_depth": num,
        "error": ["timeout", True, False, "", None, 3, "x" * 300],
        "tokens": [{"input": 3, "output": 1}, {"input": 5, "cached": 5}, {"input": 1, "cached": 2},
                   {"input": 1.5}, {"input": -1}, {"inptu": 1}, {}, "3"],
        "outcome": ["completed", "abandoned", {"task": "failed", "escalated": True}, {"escalated": False},
                    "done", {"task": 1}, {"escalated": "yes"}],
        "feedback": ["positive", "negative", 1, 5, 3.0, "4", 0, 6, 2.5, "meh", True, {"rating": 2}],
        "business": [{"sale": 1}, {"sale": 0.5, "refund": 0}, {"sale": -1}, {"sale": nan}, {"": 1}, [1]],
        "prediction": ["yes", "no", "x" * 300, None],
        "features": [{"a": 1.5, "b": "DE"}, {"a": nan}, {"a": inf}, {"b": None}, {1: 2.0}, [1, 2]],
        "scores": [{"yes": 0.9, "no": 0.1}, {"yes": nan}, {"yes": "0.5"}, {"yes": -0.3}],
        "id": ["tx", 17, 2.5, True, None],
    }
    rejected: List[opscentre.Rejection] = []
    accepted = 0
    with opscentre.Client(exporter.url, model=model, on_rejection=rejected.append) as c:
        for _ in range(400):
            kw = {f: rng.choice(pools[f]) for f in rng.sample(sorted(pools), 3)}
            try:
                c.log_prediction(**kw)
                accepted += 1
            except ValueError:
                pass
        assert c.flush(10)
        st = c.stats()
    assert rejected == [], [(r.field, r.reason, r.item) for r in rejected[:5]]
    assert st.sent == accepted and 20 < accepted < 380  # both kinds were tried
