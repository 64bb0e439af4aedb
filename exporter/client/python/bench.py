"""Benchmark of the Python client (run by scripts/bench.sh; not a test).

1. Caller cost (the calling thread's CPU time): ``log_prediction`` with 20 features (15 numeric, 5 categorical), a class,
   an id and a latency — validation on and off — against a bare ``queue.Queue.put`` and a
   ``deque.append`` of the same dict, in interleaved rounds of one run. The sender thread
   sleeps meanwhile (flush_interval is long), so what is timed is the caller's own work.
2. Throughput to the real exporter binary: the sender alone draining a full queue, and a
   producer and the sender running together (one process, one GIL), plain and gzip.

    /usr/bin/python3 exporter/client/python/bench.py [--bin bin/aiops_exporter]
"""

from __future__ import annotations

import argparse
import collections
import os
import queue
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Any, Callable, Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))
import opscentre  # noqa: E402

N_DISTINCT = 1000


def events(n: int = N_DISTINCT) -> List[Dict[str, Any]]:
    rng = random.Random(1)
    out = []
    for _ in range(n):
        d: Dict[str, Any] = {f"num{i}": rng.gauss(100, 15) for i in range(15)}
        d.update({f"cat{i}": rng.choice(["DE", "FR", "US", "GB", "IT"]) for i in range(5)})
        out.append(d)
    return out


def per_call(rounds: int, n: int) -> None:
    feats = events()
    ids = [f"tx-{i}" for i in range(N_DISTINCT)]

    def timed(step: Callable[[Dict[str, Any], str], Any], reset: Callable[[], None]) -> float:
        # Thread CPU time, not wall time: on a shared machine descheduling would swamp the
        # differences; the caller pays in CPU what its request loses.
        t = time.thread_time_ns()
        for i in range(n):
            j = i % N_DISTINCT
            step(feats[j], ids[j])
        dt = time.thread_time_ns() - t
        reset()
        return dt / n / 1000  # µs per call

    q: "queue.Queue[Dict[str, Any]]" = queue.Queue()
    dq: "collections.deque[Dict[str, Any]]" = collections.deque()

    def client(validate: bool) -> opscentre.Client:
        # Nothing is sent: the sender sleeps for the whole round and the queue is cleared.
        return opscentre.Client("http://127.0.0.1:9", model="bench", batch_size=n + 1, max_queue=n + 1,
                                flush_interval=3600, validate=validate)

    cv, cn = client(True), client(False)

    def clear(c: opscentre.Client) -> Callable[[], None]:
        return lambda: c._events.clear()

    def drain() -> None:
        while not q.empty():
            q.get_nowait()

    results: Dict[str, List[float]] = collections.defaultdict(list)
    for _ in range(rounds):
        results["queue.Queue.put_nowait"].append(timed(lambda d, i: q.put_nowait(d), drain))
        results["deque.append"].append(timed(lambda d, i: dq.append(d), dq.clear))
        results["log_prediction"].append(
            timed(lambda d, i: cv.log_prediction(d, "legit", id=i, latency=0.012), clear(cv)))
        results["log_prediction validate=False"].append(
            timed(lambda d, i: cn.log_prediction(d, "legit", id=i, latency=0.012), clear(cn)))
    base = statistics.median(results["queue.Queue.put_nowait"])
    floor = statistics.median(results["deque.append"])
    print(f"caller cost per call (thread CPU time), 20 features, median of {rounds} interleaved rounds of {n} calls:")
    for name, xs in results.items():
        m = statistics.median(xs)
        print(f"  {name:32s} {m:7.2f} µs  (min {min(xs):.2f})  x-queue.put {m / base:5.2f}  x-deque {m / floor:6.2f}")
    v, nv = statistics.median(results["log_prediction"]), statistics.median(results["log_prediction validate=False"])
    print(f"  validation costs {v - nv:.2f} µs per call ({(v - nv) / v * 100:.0f}% of log_prediction)")
    cv.close(0)
    cn.close(0)


class Exporter:
    def __init__(self, binary: str, tmp: str) -> None:
        self.proc = subprocess.Popen(
            [binary, "--web.listen-address=127.0.0.1:0", f"--storage.path={tmp}/data",
             "--storage.snapshot-interval=1h"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
        )
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            m = re.search(r'msg="Listening on" address=(\S+)', raw.decode())
            if m:
                self.url = "http://" + m.group(1)
                break
        else:
            raise RuntimeError("aiops_exporter did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()  # type: ignore

    def events_total(self, model: str) -> float:
        with urllib.request.urlopen(self.url + "/metrics") as r:
            text = r.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("aiops_events_total{") and f'model="{model}"' in line)

    def cpu(self) -> float:
        """The exporter's CPU seconds so far (user + system, from /proc)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


def throughput(binary: str, m: int) -> None:
    feats = events()
    with tempfile.TemporaryDirectory() as tmp:
        exp = Exporter(binary, tmp)
        try:
            print(f"throughput to the real exporter, {m} events of 20 features, batches of 500:")
            for label, gz in (("plain", None), ("gzip", 0)):
                # The sender alone: fill the queue first, then time the flush.
                model = f"bench-drain-{label}"
                c = opscentre.Client(exp.url, model=model, max_queue=m, flush_interval=3600,
                                     batch_size=500, gzip_min_bytes=gz)
                c._wake.set = lambda: None  # type: ignore[method-assign]  # keep the sender asleep while filling
                for i in range(m):
                    c.log_prediction(feats[i % N_DISTINCT], "legit", id=i, latency=0.01)
                del c._wake.set
                t, cpu, ecpu = time.perf_counter(), time.process_time(), exp.cpu()
                c.flush(600)
                dt, cpu, ecpu = time.perf_counter() - t, time.process_time() - cpu, exp.cpu() - ecpu
                st = c.stats()
                c.close()
                got = exp.events_total(model)
                print(f"  sender alone, {label:5s}: {m / dt:9,.0f} events/s; {m / cpu:9,.0f} per client CPU-second, "
                      f"{m / ecpu:9,.0f} per exporter CPU-second  (exporter counted {got:,.0f}, "
                      f"dropped {st.dropped}, failed {st.failed})")
                # Producer and sender together: the end-to-end rate one process sustains.
                model = f"bench-live-{label}"
                c = opscentre.Client(exp.url, model=model, max_queue=m, batch_size=500, gzip_min_bytes=gz)
                t = time.perf_counter()
                for i in range(m):
                    c.log_prediction(feats[i % N_DISTINCT], "legit", id=i, latency=0.01)
                c.flush(600)
                dt = time.perf_counter() - t
                st = c.stats()
                c.close()
                got = exp.events_total(model)
                print(f"  producer + sender, {label:5s}: {m / dt:9,.0f} events/s end to end  (exporter counted "
                      f"{got:,.0f}, dropped {st.dropped}, failed {st.failed})")
        finally:
            exp.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bin", default=os.path.join(os.environ.get("OPSCENTRE_BIN_DIR") or
                                                  os.path.join(here, "..", "..", "..", "bin"), "aiops_exporter"))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--events", type=int, default=100000)
    a = ap.parse_args()
    print(f"python {sys.version.split()[0]} ({sys.executable}), load average {os.getloadavg()[0]:.1f}")
    per_call(a.rounds, a.calls)
    throughput(a.bin, a.events)


if __name__ == "__main__":
    main()
