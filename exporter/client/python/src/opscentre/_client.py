"""The client: a bounded queue on the caller's side, a sender thread on the other."""

from __future__ import annotations

import atexit
import collections
import dataclasses
import functools
import json
import logging
import os
import queue
import random
import threading
import time
import types
import weakref
import zlib
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from . import _event as E
from ._transport import Transport, retry_after

__all__ = ["Client", "Rejection", "Stats", "ExporterError", "Timer"]

F = TypeVar("F", bound=Callable[..., Any])

_log = logging.getLogger("opscentre")
_time = time.time
_monotonic = time.monotonic

EVENTS_PATH = "/api/v1/events"
LABELS_PATH = "/api/v1/labels"


@dataclasses.dataclass(frozen=True)
class Rejection:
    """One event or label the exporter refused, as its answer says."""

    kind: str  # "event" or "label"
    index: int  # position in the batch that was sent
    field: str  # e.g. "features.amount"
    reason: str  # one of the exporter's rejection reasons, e.g. "out_of_range"
    message: str
    item: Mapping[str, Any]  # the event or label as it was sent


class Stats(NamedTuple):
    """Counters since the client started (in a forked child: since the fork)."""

    sent: int  # events and labels the exporter accepted
    rejected: int  # … it refused as invalid (see on_rejection)
    dropped: int  # not queued: the queue was full or the client closed
    failed: int  # lost after the retries ran out, on a non-retryable answer, or not encodable
    retries: int  # batch retries
    queued: int  # waiting in the queue now


class ExporterError(Exception):
    """A synchronous call (set_reference) failed; status is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0, body: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = dict(body or {})


class _RateLimitedLog:
    """Logs at most once per interval; says how many messages it held back."""

    def __init__(self, logger: logging.Logger, interval: float) -> None:
        self.logger = logger
        self.interval = interval
        self.next = 0.0
        self.suppressed = 0

    def warning(self, msg: str, *args: Any) -> None:
        now = _monotonic()
        if now < self.next:
            self.suppressed += 1
            return
        if self.suppressed:
            msg += " (%d similar messages suppressed)"
            args = args + (self.suppressed,)
        self.suppressed = 0
        self.next = now + self.interval
        self.logger.warning(msg, *args)


class _Batch(NamedTuple):
    kind: str
    path: str
    items: List[Dict[str, Any]]


class _Encoded(NamedTuple):
    kind: str
    path: str
    items: List[Dict[str, Any]]
    body: bytes
    headers: Dict[str, str]


# Every live client, so that fork and exit handlers reach them without keeping them alive.
_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for c in list(_clients):
        c._after_fork()


def _at_exit() -> None:
    # Every client stops at once and they share one wait, so several clients of a dead
    # exporter delay the exit by one close_timeout, not one each.
    clients = [c for c in list(_clients) if c._pid == os.getpid()]
    try:
        for c in clients:
            c._begin_close()
        deadline = _monotonic() + max((c._close_timeout for c in clients), default=0.0)
        for c in clients:
            c._join(deadline)
    except Exception:  # never fail an interpreter's exit
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)


class Client:
    """Sends events and labels to an aiops_exporter from a background thread.

    ``log_*`` calls only check the input and append it to a bounded queue: they never wait on
    the network, and never raise because the exporter is down. A full queue drops the newest
    item and counts it (``stats().dropped``). Bad input raises ``ValueError`` naming the field
    (``validate=False`` skips the checks; unencodable items are then counted as failed).
    """

    def __init__(
        self,
        url: str,
        *,
        model: Optional[str] = None,
        version: Optional[str] = None,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        max_queue: int = 10000,
        timeout: float = 10.0,
        headers: Optional[Mapping[str, str]] = None,
        basic_auth: Optional[Tuple[str, str]] = None,
        bearer_token: Optional[str] = None,
        verify: bool = True,
        ca_file: Optional[str] = None,
        gzip_min_bytes: Optional[int] = None,
        max_retries: int = 10,
        min_backoff: float = 0.1,
        max_backoff: float = 10.0,
        max_retry_after: float = 120.0,
        on_rejection: Optional[Callable[[Rejection], None]] = None,
        validate: bool = True,
        timestamps: bool = True,
        log_interval: float = 10.0,
        close_timeout: float = 5.0,
        logger: Optional[logging.Logger] = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, got {max_queue}")
        if flush_interval <= 0:
            raise ValueError(f"flush_interval must be positive, got {flush_interval}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if max_retries < 0 or min_backoff <= 0 or max_backoff < min_backoff:
            raise ValueError("want max_retries >= 0 and 0 < min_backoff <= max_backoff")
        self._model = None if model is None else E._name("model", model)
        self._version = None if version is None else E._name("version", version)
        self._transport_args: Dict[str, Any] = dict(
            timeout=timeout, headers=headers, basic_auth=basic_auth, bearer_token=bearer_token,
            verify=verify, ca_file=ca_file,
        )
        self._url = url
        Transport(url, **self._transport_args)  # check the URL now, in the caller
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue = max_queue
        self._gzip_min = gzip_min_bytes
        self._max_retries = max_retries
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._max_retry_after = max_retry_after
        self._on_rejection = on_rejection
        self._validate = validate
        self._timestamps = timestamps
        self._close_timeout = close_timeout
        self._logger = logger or _log
        self._rejection_log = _RateLimitedLog(self._logger, log_interval)
        self._failure_log = _RateLimitedLog(self._logger, log_interval)
        self._drop_log = _RateLimitedLog(self._logger, log_interval)
        self._encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
        self._closed = False
        self._init_runtime()
        _clients.add(self)

    # -- lifecycle ---------------------------------------------------------------------

    def _init_runtime(self) -> None:
        """Everything a process owns on its own: queues, locks, the thread, the counters."""
        self._events: Deque[Dict[str, Any]] = collections.deque()
        self._labels: Deque[Dict[str, Any]] = collections.deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._flush_waiters: List[threading.Event] = []
        self._sent = self._rejected = self._dropped = self._failed = self._retries = 0
        self._thread: Optional[threading.Thread] = None
        self._poster: Optional[threading.Thread] = None
        # Encoded batches on their way to the poster; one waits here while one is in flight,
        # so encoding the next batch overlaps the exporter ingesting the last.
        self._handoff: "queue.Queue[Union[_Encoded, List[threading.Event], None]]" = queue.Queue(maxsize=1)
        self._pid = os.getpid()
        if not self._closed:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            t = threading.Thread(target=self._run, name="opscentre-encoder", daemon=True)
            p = threading.Thread(target=self._post_loop, name="opscentre-poster", daemon=True)
            self._thread, self._poster = t, p
        p.start()
        t.start()

    def _after_fork(self) -> None:
        # The parent's thread does not exist here, and its locks may have been held at fork.
        # What the parent queued is the parent's to send: the child starts empty, so nothing
        # is sent twice. The thread starts on the child's first log call.
        closed = self._closed
        self._closed = True  # _init_runtime must not start a thread inside the fork handler
        self._init_runtime()
        self._closed = closed

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Sends everything queued before the call; True if done within timeout (seconds)."""
        if self._thread is None or self._pid != os.getpid():
            if self._closed:
                return not self._events and not self._labels
            self._start()
        done = threading.Event()
        with self._lock:
            self._flush_waiters.append(done)
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: Optional[float] = None) -> bool:
        """Flushes and stops the threads; later log calls drop. True if all was sent in time."""
        self._begin_close()
        return self._join(_monotonic() + (self._close_timeout if timeout is None else timeout))

    def _begin_close(self) -> None:
        with self._lock:
            self._closed = True
        self._stop.set()
        self._wake.set()

    def _join(self, deadline: float) -> bool:
        t, p = self._thread, self._poster
        if t is None or p is None:
            return not self._events and not self._labels
        t.join(max(0.0, deadline - _monotonic()))
        p.join(max(0.0, deadline - _monotonic()))
        return not p.is_alive()

    def stats(self) -> Stats:
        return Stats(
            self._sent, self._rejected, self._dropped, self._failed, self._retries,
            len(self._events) + len(self._labels),
        )

    # -- the caller's side -------------------------------------------------------------

    def _put(self, q: Deque[Dict[str, Any]], item: Dict[str, Any]) -> bool:
        if self._thread is None or self._closed:
            if self._closed:
                return self._drop()
            self._start()  # first call in a forked child
        if len(q) >= self._max_queue:
            return self._drop()
        q.append(item)  # deque.append is atomic: no lock on the hot path
        if len(q) >= self._batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def _drop(self) -> bool:
        with self._lock:
            self._dropped += 1
        self._drop_log.warning("opscentre: queue full or client closed, dropping (%d dropped so far)", self._dropped)
        return False

    def log_prediction(
        self,
        features: Optional[Union[Mapping[str, Any], Sequence[Any], Any]] = None,
        prediction: Any = None,
        *,
        id: Optional[Union[str, int]] = None,
        scores: Optional[Union[Mapping[str, Any], Sequence[Any], Any]] = None,
        latency: Optional[float] = None,
        error: Union[str, bool, BaseException, Type[BaseException], None] = None,
        tokens: Optional[Mapping[str, int]] = None,
        cost: Optional[float] = None,
        outcome: Optional[Union[str, Mapping[str, Any]]] = None,
        feedback: Optional[Union[str, int, Mapping[str, Any]]] = None,
        input_text_length: Optional[float] = None,
        business: Optional[Mapping[str, float]] = None,
        queue_depth: Optional[float] = None,
        output_text: Optional[str] = None,
        reference_answer: Optional[str] = None,
        timestamp: Any = None,
        model: Optional[str] = None,
        version: Optional[str] = None,
        feature_names: Optional[Sequence[Any]] = None,
        classes: Optional[Sequence[Any]] = None,
        containment: Any = None,
    ) -> bool:
        """Queues one inference event; returns False if it was dropped (queue full, closed).

        ``latency`` is in seconds. ``features`` is a mapping, or a row (list, numpy array)
        with ``feature_names``; ``scores`` a mapping, or a row of probabilities with
        ``classes`` (e.g. ``model.classes_`` and ``predict_proba(x)[0]``).
        ``containment`` is the Decision (or ``{id, action}``) of a request served under an
        incidentd containment; a Decision that serves adds nothing.
        """
        if containment is not None and getattr(containment, "containment_id", 1) == 0:
            containment = None  # a Decision that serves: not contained
        if model is None:
            model = self._model
            if model is None:
                raise ValueError("model is required: pass model= here or to Client(model=...)")
        elif self._validate:
            model = E._name("model", model)
        ev: Dict[str, Any] = {"model": model}
        if version is None:
            version = self._version
        elif self._validate:
            version = E._name("version", version)
        if version is not None:
            ev["version"] = version
        if timestamp is not None:
            ev["timestamp"] = E.timestamp_value("timestamp", timestamp) if self._validate else timestamp
        elif self._timestamps:
            ev["timestamp"] = _time()
        if not self._validate:
            # The caller vouches for plain JSON values; the sender counts what fails to encode.
            if id is not None:
                ev["id"] = id
            if features is not None:
                ev["features"] = dict(features)  # a copy: the caller may reuse its dict
            if prediction is not None:
                ev["prediction"] = prediction
            if latency is not None:
                ev["latency_seconds"] = latency
            if scores is not None or error is not None or tokens is not None or cost is not None \
                    or outcome is not None or feedback is not None or input_text_length is not None \
                    or business is not None or queue_depth is not None or output_text is not None \
                    or reference_answer is not None or containment is not None:
                if containment is not None:
                    containment = E.containment_value(containment)
                for k, v in (
                    ("scores", scores), ("error", error), ("tokens", tokens), ("cost", cost),
                    ("outcome", outcome), ("feedback", feedback), ("input_text_length", input_text_length),
                    ("business", business), ("queue_depth", queue_depth), ("output_text", output_text),
                    ("reference_answer", reference_answer), ("containment", containment),
                ):
                    if v is not None:
                        ev[k] = v
            return self._put(self._events, ev)
        if id is not None:
            ev["id"] = id if type(id) is str else E.id_value(id)
        if features is not None:
            ev["features"] = E.features_dict(features, feature_names)
        if prediction is not None:
            p = prediction
            t = type(p)
            if not (t is str and len(p) <= 64 or t is int or t is bool):
                p = E.prediction_value(p)
            ev["prediction"] = p
        if scores is not None:
            ev["scores"] = E.number_map("scores", scores, non_negative=False, names=classes)
        if latency is not None:
            ev["latency_seconds"] = E._finite("latency", latency, non_negative=True)
        if error is not None:
            ev["error"] = E.error_value(error)
        if tokens is not None:
            ev["tokens"] = E.tokens_value(tokens)
        if cost is not None:
            ev["cost"] = E._finite("cost", cost, non_negative=True)
        if outcome is not None:
            ev["outcome"] = E.outcome_value(outcome)
        if feedback is not None:
            ev["feedback"] = E.feedback_value(feedback)
        if input_text_length is not None:
            ev["input_text_length"] = E._finite("input_text_length", input_text_length, non_negative=True)
        if business is not None:
            ev["business"] = E.number_map("business", business, non_negative=True)
        if queue_depth is not None:
            ev["queue_depth"] = E._finite("queue_depth", queue_depth, non_negative=True)
        if output_text is not None:
            ev["output_text"] = E.text_value("output_text", output_text)
        if reference_answer is not None:
            if output_text is None:
                raise ValueError("reference_answer needs output_text (the answer it scores)")
            ev["reference_answer"] = E.text_value("reference_answer", reference_answer)
        if containment is not None:
            ev["containment"] = E.containment_value(containment)
        return self._put(self._events, ev)

    def log_event(self, event: Mapping[str, Any]) -> bool:
        """Queues an event in the exporter's raw schema (exporter/README.md, "Event schema").

        ``model`` and ``version`` default to the client's; ``timestamp`` to now.
        """
        ev = dict(event)
        if ev.get("model") is None and self._model is not None:
            ev["model"] = self._model
        if ev.get("version") is None and self._version is not None:
            ev["version"] = self._version
        if ev.get("timestamp") is None and self._timestamps:
            ev["timestamp"] = _time()
        if self._validate:
            ev = E.check_event(ev)
        return self._put(self._events, ev)

    def log_label(
        self,
        id: Union[str, int],
        label: Any = None,
        *,
        value: Optional[float] = None,
        timestamp: Any = None,
        model: Optional[str] = None,
        version: Optional[str] = None,
        prediction: Any = None,
    ) -> bool:
        """Queues the ground truth of an earlier prediction (joined by ``id``): ``label`` for a
        class, ``value`` for a regression. ``timestamp`` (when the truth became known)
        defaults to arrival at the exporter. ``version`` is not defaulted from the client:
        without it the exporter looks for the prediction in every version of the model."""
        lb: Dict[str, Any] = {"model": model or self._model, "id": id}
        if version is not None:
            lb["version"] = version
        if label is not None:
            lb["label"] = label
        if value is not None:
            lb["value"] = value
        if timestamp is not None:
            lb["timestamp"] = timestamp
        if prediction is not None:
            lb["prediction"] = prediction
        if self._validate:
            lb = E.check_label(lb)
        return self._put(self._labels, lb)

    def timed(self, **fields: Any) -> "Timer":
        """Measures latency and records errors by exception type; a context manager or a
        decorator. Inside ``with``, set ``t.prediction``, ``t.features`` … on the timer."""
        return Timer(self, fields)

    def log_predictions(
        self,
        data: Any,
        *,
        prediction: Union[str, Sequence[Any], Any, None] = "prediction",
        id: Optional[str] = None,
        timestamp: Optional[str] = None,
        latency: Optional[str] = None,
        features: Optional[Sequence[str]] = None,
        model: Optional[str] = None,
        version: Optional[str] = None,
        block: bool = True,
        timeout: Optional[float] = 60.0,
    ) -> int:
        """Queues one event per row of a pandas DataFrame or an iterable of dicts.

        Column roles: ``prediction`` names the prediction column (or is a sequence/array of
        predictions, one per row), ``id``, ``timestamp``, ``latency`` name theirs; the
        features are ``features`` or every other column. A batch job is not a request path,
        so by default (``block=True``) a full queue makes this wait for room — up to
        ``timeout`` seconds; if none frees up in that time, the job stops waiting and rows
        that do not fit are dropped and counted, as with ``log_prediction``.
        Returns how many events were queued.
        """
        from ._frames import iter_rows  # pandas is optional; nothing imports it here

        preds: Optional[Iterator[Any]] = None
        pred_col: Optional[str] = None
        if isinstance(prediction, str):
            pred_col = prediction
        elif prediction is not None:
            preds = iter(prediction.tolist() if hasattr(prediction, "tolist") else prediction)
        roles = {c for c in (pred_col, id, timestamp, latency) if c is not None}
        n = 0
        for i, row in enumerate(iter_rows(data)):
            if features is not None:
                feats = {f: row.get(f) for f in features}
            else:
                feats = {k: v for k, v in row.items() if k not in roles}
            if preds is not None:
                try:
                    p = next(preds)
                except StopIteration:
                    raise ValueError(f"prediction: fewer predictions than rows (row {i})") from None
            else:
                p = row.get(pred_col) if pred_col is not None else None
                if p is not None and p != p:  # a NaN prediction in a frame means none
                    p = None
            if block and not self._wait_for_room(self._events, timeout):
                # The exporter is not keeping up (or is down): stop waiting, so a dead exporter
                # costs the job one timeout, not one per row; the rest go in if room appears.
                block = False
            try:
                ok = self.log_prediction(
                    feats, p,
                    id=row.get(id) if id is not None else None,
                    timestamp=row.get(timestamp) if timestamp is not None else None,
                    latency=row.get(latency) if latency is not None else None,
                    model=model, version=version,
                )
            except ValueError as e:
                raise ValueError(f"row {i}: {e}") from None
            n += ok
        return n

    def _wait_for_room(self, q: Deque[Dict[str, Any]], timeout: Optional[float]) -> bool:
        if len(q) < self._max_queue:
            return True
        deadline = None if timeout is None else _monotonic() + timeout
        self._wake.set()
        delay = 0.0005
        while len(q) >= self._max_queue:
            if self._closed or (deadline is not None and _monotonic() >= deadline):
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True

    def set_reference(
        self,
        data: Any,
        *,
        model: Optional[str] = None,
        version: Optional[str] = None,
        categorical: Sequence[str] = (),
        ignore: Sequence[str] = (),
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]:
        """Uploads a reference (baseline) for drift: a pandas DataFrame, a CSV file path
        (``.ndjson``/``.jsonl`` paths are sent as events), or an iterable of row dicts. A
        ``prediction`` column is the prediction. Synchronous — meant for training and batch
        jobs; returns the exporter's answer and raises ExporterError with its message."""
        from ._frames import reference_body

        model = model or self._model
        version = version or self._version or "default"
        if model is None:
            raise ValueError("model is required: pass model= here or to Client(model=...)")
        content_type, body = reference_body(data)
        query = []
        if categorical:
            query.append("categorical=" + ",".join(categorical))
        if ignore:
            query.append("ignore=" + ",".join(ignore))
        import urllib.parse as up

        path = f"/api/v1/models/{up.quote(model, safe='')}/versions/{up.quote(version, safe='')}/reference"
        if query:
            path += "?" + "&".join(query)
        args = dict(self._transport_args)
        if timeout is not None:
            args["timeout"] = timeout
        tr = Transport(self._url, **args)
        try:
            resp = tr.request("PUT", path, body, {"Content-Type": content_type})
        except Exception as e:
            raise ExporterError(f"uploading the reference of {model}/{version}: {e}") from e
        finally:
            tr.close()
        try:
            answer = json.loads(resp.body or b"{}")
        except ValueError:
            answer = {"error": resp.body[:500].decode("utf-8", "replace")}
        if resp.status != 200:
            raise ExporterError(
                f"exporter refused the reference of {model}/{version} ({resp.status}): {answer.get('error', answer)}",
                resp.status, answer,
            )
        warnings = answer.get("warnings") or []
        for w in warnings:
            self._logger.warning("opscentre: reference %s/%s: %s", model, version, w)
        return answer  # type: ignore[no-any-return]

    # -- the sender thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException:  # never let the thread die silently
            self._logger.exception("opscentre: encoder thread stopped")
        finally:
            self._handoff.put(None)

    def _post_loop(self) -> None:
        tr = Transport(self._url, **self._transport_args)
        try:
            while True:
                item = self._handoff.get()
                if item is None:
                    return
                if isinstance(item, list):  # flush waiters: everything before them is sent
                    for w in item:
                        w.set()
                    continue
                try:
                    self._post(tr, item)
                except Exception:
                    self._count("_failed", len(item.items))
                    self._logger.exception("opscentre: sending a batch failed")
        finally:
            tr.close()

    def _loop(self) -> None:
        next_flush = _monotonic() + self._flush_interval
        while True:
            wait = next_flush - _monotonic()
            if wait > 0 and not self._stop.is_set():
                self._wake.wait(wait)
            self._wake.clear()
            with self._lock:
                waiters, self._flush_waiters = self._flush_waiters, []
            stopping = self._stop.is_set()
            due = _monotonic() >= next_flush
            everything = due or stopping or bool(waiters)
            # Take what is queued now; items queued while sending wait for the next turn,
            # so a flush ends even when producers never pause.
            for kind, path, q in (("event", EVENTS_PATH, self._events), ("label", LABELS_PATH, self._labels)):
                n = len(q)
                if not everything:
                    n -= n % self._batch_size  # full batches only until the interval is up
                while n > 0:
                    k = min(n, self._batch_size)
                    items = [q.popleft() for _ in range(k)]
                    n -= k
                    enc = self._encode_batch(_Batch(kind, path, items))
                    if enc is not None:
                        self._handoff.put(enc)  # waits while the poster is busy: backpressure
            if due:
                next_flush = _monotonic() + self._flush_interval
            if waiters:
                self._handoff.put(waiters)
            if stopping:
                return

    def _count(self, field: str, n: int) -> None:
        with self._lock:
            setattr(self, field, getattr(self, field) + n)

    def _body(self, batch: _Batch) -> Tuple[bytes, List[Dict[str, Any]]]:
        lines: List[str] = []
        kept: List[Dict[str, Any]] = []
        enc = self._encode
        for it in batch.items:
            try:
                lines.append(enc(it))
                kept.append(it)
            except (TypeError, ValueError) as e:
                self._count("_failed", 1)
                self._failure_log.warning("opscentre: cannot encode a %s, dropped: %s", batch.kind, e)
        lines.append("")
        return "\n".join(lines).encode("utf-8"), kept

    def _encode_batch(self, batch: _Batch) -> Optional[_Encoded]:
        body, items = self._body(batch)
        if not items:
            return None
        headers = {"Content-Type": "application/x-ndjson"}
        if self._gzip_min is not None and len(body) >= self._gzip_min:
            # Level 1: most of the size gain at a fraction of the time of the default 9.
            c = zlib.compressobj(1, zlib.DEFLATED, 31)
            body = c.compress(body) + c.flush()
            headers["Content-Encoding"] = "gzip"
        return _Encoded(batch.kind, batch.path, items, body, headers)

    def _post(self, tr: Transport, batch: _Encoded) -> None:
        items, body, headers = batch.items, batch.body, batch.headers
        backoff = self._min_backoff
        attempt = 0
        while True:
            wait: Optional[float] = None
            try:
                resp = tr.request("POST", batch.path, body, headers)
            except Exception as e:  # connection refused, reset, timeout, bad answer
                err = f"{type(e).__name__}: {e}"
            else:
                st = resp.status
                if st == 200:
                    self._answer(batch.kind, items, resp.body)
                    return
                text = resp.body[:300].decode("utf-8", "replace").strip()
                if st == 413 and len(items) > 1:
                    # The exporter's limits.max_body_bytes is below this batch: halve it.
                    h = len(items) // 2
                    for half in (items[:h], items[h:]):
                        enc = self._encode_batch(_Batch(batch.kind, batch.path, half))
                        if enc is not None:
                            self._post(tr, enc)
                    return
                if st != 429 and st < 500:
                    # 400 and the other 4xx say the request itself is wrong: sending it again
                    # cannot help. A 400 may still report what it kept (a truncated body).
                    if st == 400:
                        self._answer(batch.kind, items, resp.body, whole_failed=True)
                    else:
                        self._count("_failed", len(items))
                    self._failure_log.warning(
                        "opscentre: exporter answered %d to %d %ss, not retried: %s", st, len(items), batch.kind, text
                    )
                    return
                err = f"exporter answered {st}: {text}"
                wait = retry_after(resp.headers.get("retry-after"))
            if attempt >= self._max_retries:
                self._count("_failed", len(items))
                self._failure_log.warning(
                    "opscentre: %d %ss lost after %d attempts: %s", len(items), batch.kind, attempt + 1, err
                )
                return
            attempt += 1
            self._count("_retries", 1)
            # Half fixed, half random ("equal jitter"): replicas restarting together spread
            # out, and every retry still waits a known minimum.
            delay = backoff / 2 + random.uniform(0, backoff / 2)
            backoff = min(backoff * 2, self._max_backoff)
            if wait is not None:
                delay = min(wait, self._max_retry_after) + random.uniform(0, 0.1 * self._min_backoff)
            self._logger.debug("opscentre: %s; retry %d in %.2fs", err, attempt, delay)
            # While stopping, retries go on: close(timeout) bounds how long the caller waits.
            time.sleep(delay)

    def _answer(self, kind: str, items: List[Dict[str, Any]], data: bytes, whole_failed: bool = False) -> None:
        try:
            r = json.loads(data)
            accepted = int(r.get("accepted", 0))
            rejected = r.get("rejected") or []
        except (ValueError, AttributeError, TypeError):
            self._count("_failed", len(items))
            self._failure_log.warning("opscentre: unreadable answer from the exporter: %r", data[:200])
            return
        with self._lock:
            self._sent += accepted
            self._rejected += len(rejected)
            if whole_failed:
                self._failed += max(0, len(items) - accepted - len(rejected))
        for rj in rejected:
            try:
                idx = int(rj.get("index", -1))
                rej = Rejection(
                    kind, idx, str(rj.get("field", "")), str(rj.get("reason", "")), str(rj.get("message", "")),
                    items[idx] if 0 <= idx < len(items) else {},
                )
            except (AttributeError, TypeError, ValueError):
                continue
            self._rejection_log.warning(
                "opscentre: exporter rejected a %s: %s (%s, field %s)", kind, rej.message, rej.reason, rej.field
            )
            if self._on_rejection is not None:
                try:
                    self._on_rejection(rej)
                except Exception:
                    self._logger.exception("opscentre: on_rejection callback failed")


class Timer:
    """Times a block or a function and logs it as one prediction (see Client.timed)."""

    def __init__(self, client: Client, fields: Dict[str, Any]) -> None:
        self._client = client
        self._fields = fields
        self._start = 0.0
        self.features: Any = fields.pop("features", None)
        self.prediction: Any = fields.pop("prediction", None)
        self.fields = fields  # further log_prediction keywords, settable inside the block
        self.latency: Optional[float] = None

    def __enter__(self) -> "Timer":
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[types.TracebackType],
    ) -> None:
        self.latency = time.perf_counter() - self._start
        fields = dict(self.fields)
        if exc_type is not None and fields.get("error") is None:
            fields["error"] = exc_type.__name__
        try:
            self._client.log_prediction(self.features, self.prediction, latency=self.latency, **fields)
        except ValueError:
            if exc_type is None:
                raise
            # The block's own exception matters more than a bad field: log, do not mask it.
            _log.exception("opscentre: timed(): could not log the failed call")

    def __call__(self, fn: F) -> F:
        client, fields, features, prediction = self._client, self.fields, self.features, self.prediction

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = Timer(client, dict(fields))
            t.features, t.prediction = features, prediction
            with t:
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
