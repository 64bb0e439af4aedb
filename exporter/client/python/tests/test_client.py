"""The client against the real aiops_exporter binary: exact counts read from /metrics."""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest

import opscentre
from conftest import Exporter, Front, Request, wait_for


def test_events_and_labels_arrive_exactly(exporter: Exporter, model: str) -> None:
    with opscentre.Client(exporter.url, model=model, version="v1", batch_size=100) as c:
        for i in range(1234):
            ok = c.log_prediction(
                {"amount": float(i % 97), "country": "DE" if i % 2 else "FR", "new": i % 3 == 0},
                "fraud" if i % 5 == 0 else "legit",
                id=f"tx-{i}", latency=0.01 + (i % 10) / 1000,
            )
            assert ok
        assert c.flush(10)
        assert exporter.value("aiops_events_total", model=model, version="v1") == 1234
        assert exporter.value("aiops_inference_duration_seconds_count", model=model) == 1234
        # Ground truth later: 200 labels agree with their prediction, 100 do not.
        for i in range(300):
            pred = "fraud" if i % 5 == 0 else "legit"
            truth = pred if i < 200 else ("legit" if pred == "fraud" else "fraud")
            c.log_label(f"tx-{i}", truth)
        assert c.flush(10)
        assert exporter.value("aiops_labels_total", model=model, result="joined") == 300
        assert exporter.value("aiops_predictions_labeled_total", model=model, outcome="correct") == 200
        assert exporter.value("aiops_predictions_labeled_total", model=model, outcome="incorrect") == 100
        st = c.stats()
    assert (st.sent, st.rejected, st.dropped, st.failed) == (1534, 0, 0, 0)


def test_every_field_of_the_schema(exporter: Exporter, model: str) -> None:
    with opscentre.Client(exporter.url, model=model, gzip_min_bytes=0) as c:
        c.log_prediction(
            {"x": 1.5}, "yes", id=7, scores={"yes": 0.8, "no": 0.2}, latency=0.25, error="timeout",
            tokens={"input": 1200, "output": 180, "cached": 1000}, cost=0.012,
            outcome={"task": "completed"}, feedback=5, input_text_length=420,
            business={"ticket_resolved": 1}, queue_depth=3, output_text="the cat sat on the mat",
            reference_answer="the cat sat on the mat",
        )
        c.log_event({"outcome": {"escalated": True}, "feedback": {"rating": "negative"}})
        assert c.flush(10)
        assert c.stats().sent == 2 and c.stats().rejected == 0
    v = exporter.value
    assert v("aiops_events_total", model=model) == 2
    assert v("aiops_inference_errors_total", model=model, type="timeout") == 1
    assert v("aiops_tokens_total", model=model, type="cached") == 1000
    assert v("aiops_cost_total", model=model) == pytest.approx(0.012)
    assert v("aiops_task_outcomes_total", model=model, outcome="completed") == 1
    assert v("aiops_task_outcomes_total", model=model, outcome="escalated") == 1
    assert v("aiops_feedback_total", model=model, rating="5") == 1
    assert v("aiops_feedback_total", model=model, rating="negative") == 1
    assert v("aiops_business_value_total", model=model, name="ticket_resolved") == 1
    assert v("aiops_queue_depth", model=model) == 3
    assert v("aiops_input_length_sum", model=model) == 420
    assert v("aiops_text_rouge_l_sum", model=model) == pytest.approx(1.0)


def recording(front: Any, exporter: Exporter) -> Front:
    return front(exporter.url, lambda i, r: None)  # type: ignore[no-any-return]


def lines(req: Request) -> List[Dict[str, Any]]:
    body = req.body
    if req.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return [json.loads(x) for x in body.decode().splitlines() if x]


def test_wire_format_ndjson_gzip_and_auth(exporter: Exporter, front: Any, model: str) -> None:
    f = recording(front, exporter)
    with opscentre.Client(f.url, model=model, gzip_min_bytes=2000, bearer_token="s3cret", batch_size=50) as c:
        for i in range(50):  # one batch above 2000 bytes: gzip
            c.log_prediction({"a": i, "b": "x" * 30}, i)
        assert c.flush(10)
        c.log_prediction({"a": 1}, 1)  # one small batch: plain
        assert c.flush(10)
    big, small = f.requests
    assert big.path == "/api/v1/events" and big.headers["Content-Type"] == "application/x-ndjson"
    assert big.headers.get("Content-Encoding") == "gzip" and "Content-Encoding" not in small.headers
    assert big.headers["Authorization"] == "Bearer s3cret"
    assert [e["prediction"] for e in lines(big)] == list(range(50))
    assert lines(small)[0]["features"] == {"a": 1}
    assert exporter.value("aiops_events_total", model=model) == 51


def test_rejections_reach_the_callback_and_the_log(
    exporter: Exporter, caplog: pytest.LogCaptureFixture
) -> None:
    got: List[opscentre.Rejection] = []
    caplog.set_level(logging.WARNING, logger="opscentre")
    before = exporter.value("aiops_events_rejected_total", model="guarded", reason="out_of_range")
    with opscentre.Client(exporter.url, model="guarded", on_rejection=got.append, batch_size=1000) as c:
        for i in range(20):
            # the configuration allows amount 0..1000 and country DE, FR, US
            amount = 5000.0 if i in (3, 11) else 10.0
            country = "XX" if i == 17 else "DE"
            c.log_prediction({"amount": amount, "country": country}, "ok", id=f"r{i}")
        assert c.flush(10)
        st = c.stats()
    assert (st.sent, st.rejected) == (17, 3)
    assert [(r.kind, r.index, r.field, r.reason) for r in got] == [
        ("event", 3, "features.amount", "out_of_range"),
        ("event", 11, "features.amount", "out_of_range"),
        ("event", 17, "features.country", "unknown_category"),
    ]
    assert got[0].item["id"] == "r3" and got[2].item["features"]["country"] == "XX"
    assert "1000" in got[0].message
    after = exporter.value("aiops_events_rejected_total", model="guarded", reason="out_of_range")
    assert after - before == 2
    # Rate-limited: one warning for the three rejections of the batch.
    warnings = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_a_label_rejection_reaches_the_callback(exporter: Exporter, model: str) -> None:
    got: List[opscentre.Rejection] = []
    with opscentre.Client(exporter.url, model=model, on_rejection=got.append, validate=False) as c:
        c.log_label("a", "x")
        c.log_label("b", "x", timestamp=time.time() + 3600)  # beyond max_clock_skew
        assert c.flush(10)
    assert [(r.kind, r.index, r.field, r.reason) for r in got] == [("label", 1, "timestamp", "timestamp_out_of_range")]


def test_exporter_down_then_up_loses_nothing(own_exporter: Exporter, model: str) -> None:
    from conftest import free_port

    own_exporter.port = free_port()
    c = opscentre.Client(
        f"http://127.0.0.1:{own_exporter.port}", model=model, batch_size=200, max_queue=5000,
        min_backoff=0.05, max_backoff=0.5, flush_interval=0.1,
    )
    t0 = time.perf_counter()
    for i in range(3000):
        c.log_prediction({"x": i}, i % 2 == 0, id=i)
    took = time.perf_counter() - t0
    assert took < 1.0, f"3000 calls took {took:.2f}s with the exporter down"
    time.sleep(1.0)  # connection refused, retried meanwhile
    assert c.stats().retries > 0 and c.stats().failed == 0
    own_exporter.start()
    assert c.flush(30)
    assert own_exporter.value("aiops_events_total", model=model) == 3000
    st = c.stats()
    assert (st.sent, st.dropped, st.failed) == (3000, 0, 0)
    c.close()


def test_stalling_exporter_never_blocks_the_caller(exporter: Exporter, front: Any, model: str) -> None:
    release = threading.Event()

    def decide(i: int, req: Request) -> Optional[Tuple[int, Dict[str, str], bytes]]:
        if i < 2:
            release.wait(5)  # stall past the client's timeout; the client retries
            return (200, {}, b'{"accepted":0,"rejected":[]}')
        return None

    f = front(exporter.url, decide)
    # A client that waited on the network would block for the 1.5 s timeout at least.
    c = opscentre.Client(f.url, model=model, timeout=1.5, batch_size=100, min_backoff=0.05, flush_interval=0.05)
    worst = 0.0
    for i in range(2000):
        t = time.perf_counter()
        c.log_prediction({"x": i}, "a", id=i)
        worst = max(worst, time.perf_counter() - t)
        if i % 500 == 0:
            time.sleep(0.1)  # let the sender pick batches up and stall on them
    assert worst < 0.75, f"a log call took {worst * 1000:.1f} ms while the exporter stalled"
    assert c.flush(30)
    release.set()
    assert c.stats().retries >= 2
    assert exporter.value("aiops_events_total", model=model) == 2000
    assert c.stats().sent == 2000 and c.stats().failed == 0
    c.close()


def test_503_with_retry_after_is_honoured(exporter: Exporter, front: Any, model: str) -> None:
    times: List[float] = []

    def decide(i: int, req: Request) -> Optional[Tuple[int, Dict[str, str], bytes]]:
        times.append(time.monotonic())
        if i < 2:
            return (503, {"Retry-After": "1"}, b'{"error":"busy"}')
        return None

    f = front(exporter.url, decide)
    with opscentre.Client(f.url, model=model, min_backoff=0.01, max_backoff=0.02) as c:
        for i in range(10):
            c.log_prediction({"x": i}, "a")
        assert c.flush(20)
        assert c.stats().retries == 2
    # The backoff alone would retry after ~10 ms; Retry-After asks for a second each time.
    assert times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95
    assert exporter.value("aiops_events_total", model=model) == 10


def test_400_is_never_retried(front: Any, model: str) -> None:
    f = front(None, lambda i, r: (400, {}, b'{"error":"the body is not JSON"}'))
    with opscentre.Client(f.url, model=model, min_backoff=0.01) as c:
        for i in range(5):
            c.log_prediction({"x": i}, "a")
        assert c.flush(10)
        time.sleep(0.2)
        st = c.stats()
    assert len(f.requests) == 1
    assert (st.retries, st.failed, st.sent) == (0, 5, 0)


def test_a_kept_alive_connection_the_server_closed_is_replaced_at_once(
    exporter: Exporter, front: Any, model: str
) -> None:
    f = recording(front, exporter)
    f.close_after_answer = True
    with opscentre.Client(f.url, model=model, batch_size=10) as c:
        for i in range(50):
            c.log_prediction({"x": i}, "a")
            assert c.flush(10)  # one batch per request, each on a connection closed after it
        st = c.stats()
    assert (st.sent, st.retries, st.failed) == (50, 0, 0)
    assert exporter.value("aiops_events_total", model=model) == 50


def test_413_splits_the_batch(exporter: Exporter, front: Any, model: str) -> None:
    f = front(exporter.url, lambda i, r: (413, {}, b'{"error":"too large"}') if len(lines(r)) > 25 else None)
    with opscentre.Client(f.url, model=model, batch_size=100) as c:
        for i in range(100):
            c.log_prediction({"x": i}, "a")
        assert c.flush(10)
    assert exporter.value("aiops_events_total", model=model) == 100


def test_restart_mid_stream_loses_nothing(own_exporter: Exporter, model: str) -> None:
    own_exporter.start()
    c = opscentre.Client(
        own_exporter.url, model=model, batch_size=200, max_queue=20000, flush_interval=0.05,
        min_backoff=0.05, max_backoff=0.5,
    )
    n = 12000
    stop_at = threading.Event()

    def produce() -> None:
        for i in range(n):
            if i == n // 3:
                stop_at.set()
            c.log_prediction({"x": i % 100, "c": "k"}, "a", id=i)
            if i % 200 == 0:
                time.sleep(0.002)

    p = threading.Thread(target=produce)
    p.start()
    stop_at.wait(10)
    own_exporter.stop()  # SIGTERM: the exporter saves its state and exits
    time.sleep(0.5)
    own_exporter.start()  # same port, same state directory
    p.join()
    assert c.flush(30)
    st = c.stats()
    assert (st.dropped, st.failed) == (0, 0)
    assert own_exporter.value("aiops_events_total", model=model) == n
    c.close()


def test_full_queue_drops_the_newest_and_counts(front: Any, model: str) -> None:
    release = threading.Event()
    got: List[int] = []

    def decide(i: int, req: Request) -> Optional[Tuple[int, Dict[str, str], bytes]]:
        release.wait(10)
        evs = lines(req)
        got.extend(e["prediction"] for e in evs)
        return (200, {}, json.dumps({"accepted": len(evs), "rejected": []}).encode())

    f = front(None, decide)
    c = opscentre.Client(f.url, model=model, max_queue=100, batch_size=10, flush_interval=30)
    for i in range(10):
        c.log_prediction({"x": i}, i)
    assert wait_for(lambda: c.stats().queued == 0 and len(f.requests) == 1)  # the first batch stalls
    for i in range(10, 1000):
        c.log_prediction({"x": i}, i)
        if i % 10 == 0:
            time.sleep(0.001)  # let the encoder take what it can: at most two more batches
    st = c.stats()
    # The bound holds; what the encoder and poster took out (the stalled batch, one waiting,
    # one encoded) is all that got past it.
    assert 90 <= st.queued <= 100 and 1000 - 100 - 3 * 10 <= st.dropped <= 1000 - 100, st
    release.set()
    assert c.flush(10)
    assert got == list(range(1000 - st.dropped)), (st, got[:40], len(got))  # the oldest kept, in order; the newest dropped
    assert c.stats().sent == 1000 - st.dropped
    c.close()


def test_fork_child_gets_its_own_thread_and_queue(exporter: Exporter, model: str) -> None:
    c = opscentre.Client(exporter.url, model=model, flush_interval=60, batch_size=1000)
    for i in range(50):
        c.log_prediction({"x": i}, "parent")  # queued, not sent yet
    pid = os.fork()
    if pid == 0:  # the child: its queue must start empty and its own thread must send
        code = 1
        try:
            ok = c.stats().queued == 0
            for i in range(70):
                c.log_prediction({"x": i}, "child")
            ok = ok and c.flush(10) and c.stats().sent == 70
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert c.flush(10)
    assert c.stats().sent == 50
    text = exporter.metrics()
    from conftest import metric_value

    assert metric_value(text, "aiops_events_total", model=model) == 120  # nothing twice
    c.close()


def test_closed_client_drops_and_counts(exporter: Exporter, model: str) -> None:
    c = opscentre.Client(exporter.url, model=model)
    c.log_prediction({"x": 1}, 1)
    assert c.close(5)
    assert not c.log_prediction({"x": 2}, 2)
    st = c.stats()
    assert (st.sent, st.dropped) == (1, 1)


def test_timed_measures_latency_and_error_types(exporter: Exporter, model: str) -> None:
    with opscentre.Client(exporter.url, model=model) as c:

        @c.timed(features={"k": 1})
        def predict(x: float) -> float:
            time.sleep(0.02)
            return 1 / x

        assert predict(2) == 0.5
        with pytest.raises(ZeroDivisionError):
            predict(0)
        with c.timed() as t:
            t.features = {"k": 2}
            t.prediction = "done"
        assert t.latency is not None and t.latency < 0.5
        assert c.flush(10)
    assert exporter.value("aiops_events_total", model=model) == 3
    assert exporter.value("aiops_inference_errors_total", model=model, type="ZeroDivisionError") == 1
    assert exporter.value("aiops_inference_duration_seconds_sum", model=model) >= 0.04


def test_interpreter_exit_sends_what_is_queued(exporter: Exporter, model: str) -> None:
    """A script that never calls flush or close loses nothing: atexit closes the client."""
    import subprocess
    import sys

    from conftest import PKG

    script = (
        "import opscentre\n"
        f"c = opscentre.Client({exporter.url!r}, model={model!r}, flush_interval=3600)\n"
        "for i in range(77):\n"
        "    c.log_prediction({'x': i}, 'a')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(PKG / "src"))
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=30)
    assert exporter.value("aiops_events_total", model=model) == 77


def test_many_threads_log_at_once(exporter: Exporter, model: str) -> None:
    """Concurrent callers: nothing lost or counted twice, the bound holds within the threads."""
    with opscentre.Client(exporter.url, model=model, batch_size=250, max_queue=50000) as c:
        def work(t: int) -> None:
            for i in range(2500):
                c.log_prediction({"x": i, "t": t}, "a", id=f"{t}-{i}")

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert c.flush(30)
        st = c.stats()
    assert (st.sent, st.dropped, st.failed) == (20000, 0, 0)
    assert exporter.value("aiops_events_total", model=model) == 20000


def test_a_batch_job_waits_for_room_then_gives_up_and_counts(front: Any, model: str) -> None:
    release = threading.Event()

    def decide(i: int, req: Request) -> Optional[Tuple[int, Dict[str, str], bytes]]:
        release.wait(10)
        return (200, {}, json.dumps({"accepted": len(lines(req)), "rejected": []}).encode())

    f = front(None, decide)
    c = opscentre.Client(f.url, model=model, max_queue=10, batch_size=5, flush_interval=30)
    rows = [{"x": i} for i in range(60)]
    t0 = time.monotonic()
    queued = c.log_predictions(rows, timeout=0.5)
    waited = time.monotonic() - t0
    st = c.stats()
    # The queue and the batches in the pipeline fit; then one wait of 0.5 s, not one per row.
    assert 10 <= queued <= 10 + 3 * 5 and st.dropped == 60 - queued
    assert 0.5 <= waited < 2.5  # one row per wait would take 0.5 s × 35 or more
    release.set()
    assert c.flush(10)
    assert c.stats().sent == queued
    c.close()


def test_exit_with_a_dead_exporter_waits_one_close_timeout(model: str) -> None:
    import subprocess
    import sys

    from conftest import PKG, free_port

    # The first atexit handler registered runs last: it times the clients' exit handler.
    script = (
        "import atexit, time\n"
        "atexit.register(lambda: print(time.monotonic() - t0))\n"
        "import opscentre\n"
        "cs = [opscentre.Client('http://127.0.0.1:%d', model='m', close_timeout=1.0) for _ in range(4)]\n"
        "for c in cs:\n"
        "    c.log_prediction({'x': 1}, 'a')\n"
        "t0 = time.monotonic()\n" % free_port()
    )
    env = dict(os.environ, PYTHONPATH=str(PKG / "src"))
    r = subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=30, capture_output=True, text=True)
    took = float(r.stdout.strip())
    assert 1.0 <= took < 2.5, f"exit took {took:.1f}s for 4 clients of 1 s each"


_POOL_CLIENT: Optional[opscentre.Client] = None


def _pool_work(k: int) -> int:
    assert _POOL_CLIENT is not None
    for i in range(25):
        _POOL_CLIENT.log_prediction({"x": i, "worker_task": k}, "a")
    # Pool workers end with os._exit, without atexit: a task flushes what it logged.
    assert _POOL_CLIENT.flush(10)
    return _POOL_CLIENT.stats().sent


def test_multiprocessing_fork_pool_workers(exporter: Exporter, model: str) -> None:
    import multiprocessing

    global _POOL_CLIENT
    _POOL_CLIENT = opscentre.Client(exporter.url, model=model)
    try:
        _POOL_CLIENT.log_prediction({"x": -1}, "parent")  # the parent's thread is running
        with multiprocessing.get_context("fork").Pool(2) as pool:
            sent = pool.map(_pool_work, range(4))
        assert sorted(sent)[-1] >= 25 and all(s % 25 == 0 for s in sent)
        assert _POOL_CLIENT.flush(10)
        assert exporter.value("aiops_events_total", model=model) == 4 * 25 + 1
    finally:
        _POOL_CLIENT.close()
        _POOL_CLIENT = None
