"""Building and checking events and labels in the exporter's schema.

Everything here runs on the caller's thread, so the common case (plain ``str``, ``int``,
``float``, ``bool`` and ``None`` values) takes a short path of ``type(v) is ...`` tests;
numpy scalars, arrays, datetimes and other conversions take the slow path only when seen.
The checks are those the exporter would reject an event for anyway (exporter/README.md,
"Event schema" and "Rejection reasons"): catching them here turns a silent counter in
``aiops_events_rejected_total`` into a ``ValueError`` naming the field during development.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Union

__all__ = [
    "OUTCOMES",
    "RATINGS",
    "EVENT_FIELDS",
    "to_json_value",
    "check_event",
    "check_label",
]

Number = Union[int, float]
JSON = Any

#: The task outcomes the exporter accepts in ``outcome.task``.
OUTCOMES = frozenset({"completed", "failed", "escalated", "abandoned"})
#: The feedback ratings the exporter accepts (numbers 1..5 also).
RATINGS = frozenset({"positive", "negative", "1", "2", "3", "4", "5"})
#: Every key of the event schema; anything else the exporter rejects as unknown_field.
EVENT_FIELDS = frozenset(
    {
        "model", "version", "id", "timestamp", "features", "prediction", "scores",
        "latency_seconds", "error", "tokens", "cost", "outcome", "feedback",
        "input_text_length", "business", "queue_depth", "output_text", "reference_answer",
        "containment",
    }
)
#: The actions of incidentd containments an event may carry in ``containment.action``.
CONTAINMENT_ACTIONS = frozenset({"fallback", "disable", "block_inputs"})
LABEL_FIELDS = frozenset({"model", "version", "id", "label", "value", "timestamp", "prediction"})

# Names become Prometheus label values; the exporter rejects those over 256 bytes.
MAX_NAME_BYTES = 256
# Unix seconds above this are milliseconds or garbage (the exporter's own limit).
MAX_UNIX_SECONDS = 1e11


def _name_ok(s: str) -> bool:
    # len(s) counts characters; only long strings can exceed the byte bound.
    return len(s) <= MAX_NAME_BYTES // 4 or len(s.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES


def _unwrap(v: Any) -> Any:
    """Converts numpy scalars and one-element arrays, and pandas' missing values, to Python."""
    item = getattr(v, "item", None)
    if item is not None and callable(item):
        size = getattr(v, "size", 1)
        if size != 1:
            raise TypeError(f"an array of {size} values where one value is expected")
        try:
            return item()
        except (TypeError, ValueError) as e:  # e.g. numpy datetime64 without a unit
            raise TypeError(f"cannot convert {type(v).__name__}: {e}") from e
    # pandas.NA and NaT say "missing": the schema's null.
    if type(v).__name__ in ("NAType", "NaTType"):
        return None
    return v


def _finite(field: str, v: Any, *, non_negative: bool = False) -> Number:
    """Returns v as a finite number or raises ValueError naming field."""
    t = type(v)
    if t is not float and t is not int:
        if t is bool:
            raise ValueError(f"{field} must be a number, got a boolean")
        try:
            v = _unwrap(v)
        except TypeError as e:
            raise ValueError(f"{field} must be a number: {e}") from None
        t = type(v)
        if t is bool or (t is not float and t is not int):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = float(v) if isinstance(v, float) else int(v)
            else:
                raise ValueError(f"{field} must be a number, got {type(v).__name__}")
    if v - v:  # NaN - NaN and Inf - Inf are NaN (truthy); every finite number gives 0
        raise ValueError(f"{field} must be finite, got {v!r}")
    if non_negative and v < 0:
        raise ValueError(f"{field} must not be negative, got {v!r}")
    return v  # type: ignore[no-any-return]


def _whole(field: str, v: Any) -> int:
    x = _finite(field, v, non_negative=True)
    if type(x) is float:
        if not x.is_integer():
            raise ValueError(f"{field} must be a whole number, got {x!r}")
        x = int(x)
    return int(x)


def _name(field: str, v: Any) -> str:
    if type(v) is not str:
        v = _unwrap(v)
        if not isinstance(v, str):
            raise ValueError(f"{field} must be a string, got {type(v).__name__}")
    if not v:
        raise ValueError(f"{field} must not be empty")
    if not _name_ok(v):
        raise ValueError(f"{field} must be at most {MAX_NAME_BYTES} bytes (it becomes a label value)")
    return str(v)


def _key(field: str, k: Any) -> str:
    """A map key (feature, score, business name); numpy and number keys become strings."""
    if type(k) is str:
        if k and (len(k) <= 64 or _name_ok(k)):
            return k
        if not k:
            raise ValueError(f"{field}: a name must not be empty")
        raise ValueError(f"{field}.{k[:40]}…: names must be at most {MAX_NAME_BYTES} bytes")
    k = _unwrap(k)
    if isinstance(k, bool) or not isinstance(k, (str, int)):
        raise ValueError(f"{field}: names must be strings, got {type(k).__name__} {k!r}")
    return _key(field, str(k))


def to_json_value(field: str, v: Any, *, nan_is_null: bool) -> JSON:
    """A scalar for a feature or prediction: str, finite number, bool or None.

    With nan_is_null (features), NaN means missing, as in pandas, and becomes null; ±Inf
    is always an error (the exporter rejects it as non_finite).
    """
    t = type(v)
    if t is str or t is int or t is bool or v is None:
        return v
    if t is float:
        if v - v:
            if nan_is_null and v != v:
                return None
            raise ValueError(f"{field} must be finite, got {v!r}")
        return v
    try:
        u = _unwrap(v)
    except TypeError as e:
        raise ValueError(f"{field}: {e}") from None
    if u is v:
        if isinstance(v, bool):
            return bool(v)
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return to_json_value(field, float(v), nan_is_null=nan_is_null)
        if isinstance(v, str):
            return str(v)
        raise ValueError(f"{field} must be a number, string, boolean or None, got {type(v).__name__}")
    return to_json_value(field, u, nan_is_null=nan_is_null)


def features_dict(
    features: Union[Mapping[Any, Any], Sequence[Any], Any],
    names: Optional[Sequence[Any]] = None,
) -> Dict[str, JSON]:
    """Checks and copies features (a copy, so the caller may reuse its dict)."""
    if names is not None:
        values = list(features.tolist() if hasattr(features, "tolist") else features)
        if len(values) != len(names):
            raise ValueError(f"features: {len(values)} values for {len(names)} feature_names")
        features = dict(zip(names, values))
    elif not isinstance(features, Mapping):
        if hasattr(features, "items") and hasattr(features, "index"):  # a pandas Series: one row
            return features_dict(dict(features.items()))
        raise ValueError(
            f"features must be a mapping of name to value (or pass feature_names=), got {type(features).__name__}"
        )
    # Fast path: one pass of type tests, then a C-level copy. Any key or value that needs
    # converting (numpy, NaN, a non-str key) sends us to the converting loop below.
    for k, v in features.items():
        t = type(v)
        if type(k) is not str or len(k) > 64:
            break
        if t is float:
            if v - v:  # NaN - NaN and Inf - Inf are NaN (truthy); finite numbers give 0.0
                break
        elif t is not str and t is not int and t is not bool and v is not None:
            break
    else:
        return dict(features)
    out: Dict[str, JSON] = {}
    for k, v in features.items():
        t = type(v)
        if type(k) is not str or len(k) > 64:
            k = _key("features", k)
        if t is float:
            if v - v:
                if v != v:
                    v = None  # NaN: missing, as pandas means it
                else:
                    raise ValueError(f"features.{k} must be finite or None, got {v!r}")
        elif not (t is str or t is int or t is bool or v is None):
            v = to_json_value("features." + k, v, nan_is_null=True)
        out[k] = v
    return out


def number_map(field: str, m: Any, *, non_negative: bool, names: Optional[Sequence[Any]] = None) -> Dict[str, Number]:
    """scores / business: name -> finite number; an array with names (e.g. classes_) too."""
    if names is not None:
        values = list(m.tolist() if hasattr(m, "tolist") else m)
        if len(values) != len(names):
            raise ValueError(f"{field}: {len(values)} values for {len(names)} names")
        m = dict(zip(names, values))
    elif not isinstance(m, Mapping):
        raise ValueError(f"{field} must be a mapping of name to number, got {type(m).__name__}")
    out: Dict[str, Number] = {}
    for k, v in m.items():
        k = _key(field, k)
        if v is None:
            continue
        out[k] = _finite(f"{field}.{k}", v, non_negative=non_negative)
    return out


def prediction_value(v: Any) -> JSON:
    p = to_json_value("prediction", v, nan_is_null=False)
    if type(p) is str and not _name_ok(p):
        raise ValueError(f"prediction: a class must be at most {MAX_NAME_BYTES} bytes (it becomes a label value)")
    return p


def timestamp_value(field: str, v: Any) -> Number:
    """Unix seconds from a datetime (naive means local time, as datetime.timestamp()), a
    pandas Timestamp, numpy datetime64, or a number of seconds."""
    if isinstance(v, _dt.datetime):
        return v.timestamp()
    if type(v).__name__ == "datetime64":
        ns = int(v.astype("datetime64[ns]").astype("int64"))
        return ns / 1e9
    x = _finite(field, v)
    if abs(x) > MAX_UNIX_SECONDS:
        raise ValueError(f"{field} {x!r} is not Unix seconds (milliseconds? divide by 1000)")
    return x


def id_value(v: Any) -> Union[str, int]:
    if type(v) is str or (type(v) is int):
        return v
    u = _unwrap(v)
    if isinstance(u, bool) or not isinstance(u, (str, int)):
        raise ValueError(f"id must be a string or an integer, got {type(v).__name__}")
    return u


def error_value(v: Any) -> Union[str, bool, None]:
    if v is None or v is False or v is True:
        return v
    if isinstance(v, BaseException):
        return type(v).__name__
    if isinstance(v, type) and issubclass(v, BaseException):
        return v.__name__
    if isinstance(v, str):
        if not _name_ok(v):
            raise ValueError(f"error must be a short error type such as 'timeout' (at most {MAX_NAME_BYTES} bytes)")
        return v
    raise ValueError(f"error must be an error type string, a boolean or an exception, got {type(v).__name__}")


def tokens_value(v: Any) -> Dict[str, int]:
    if not isinstance(v, Mapping):
        raise ValueError(f"tokens must be a mapping {{input, output, cached}}, got {type(v).__name__}")
    out: Dict[str, int] = {}
    for k, x in v.items():
        if k not in ("input", "output", "cached"):
            raise ValueError(f"tokens.{k}: unknown token type; expected input, output or cached")
        if x is not None:
            out[k] = _whole(f"tokens.{k}", x)
    if out.get("cached", 0) > out.get("input", 0):
        raise ValueError("tokens.cached: cached tokens are part of input tokens and cannot exceed them")
    return out


def outcome_value(v: Any) -> Dict[str, Any]:
    if isinstance(v, str):
        v = {"task": v}
    if not isinstance(v, Mapping):
        raise ValueError(f"outcome must be a task string or a mapping {{task, escalated}}, got {type(v).__name__}")
    out: Dict[str, Any] = {}
    for k, x in v.items():
        if k == "task":
            if x is None:
                continue
            if x not in OUTCOMES:
                raise ValueError(f"outcome.task {x!r}: expected one of completed, failed, escalated, abandoned")
            out["task"] = x
        elif k == "escalated":
            if x is not None and not isinstance(x, bool):
                raise ValueError(f"outcome.escalated must be a boolean, got {type(x).__name__}")
            if x:
                out["escalated"] = True
        else:
            raise ValueError(f"outcome.{k}: unknown field; expected task or escalated")
    return out


def feedback_value(v: Any) -> Dict[str, Any]:
    if isinstance(v, Mapping):
        extra = set(v) - {"rating"}
        if extra:
            raise ValueError(f"feedback.{sorted(extra)[0]}: unknown field; expected rating")
        v = v.get("rating")
    v = _unwrap(v)
    if isinstance(v, str):
        if v not in RATINGS:
            raise ValueError(f"feedback.rating {v!r}: expected positive, negative or 1..5")
        return {"rating": v}
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v not in (1, 2, 3, 4, 5):
        raise ValueError(f"feedback.rating {v!r}: expected positive, negative or a whole number 1..5")
    return {"rating": int(v)}


def containment_value(v: Any) -> Dict[str, Any]:
    """``{id, action}`` of the containment an event was produced under; a Decision
    (opscentre.Containments.decide) is accepted as it is."""
    if hasattr(v, "containment_id") and hasattr(v, "containment_action"):
        v = {"id": v.containment_id, "action": v.containment_action}
    if not isinstance(v, Mapping):
        raise ValueError(f"containment must be a mapping {{id, action}}, got {type(v).__name__}")
    extra = set(v) - {"id", "action"}
    if extra:
        raise ValueError(f"containment.{sorted(extra)[0]}: unknown field; expected id and action")
    i, a = v.get("id"), v.get("action")
    if isinstance(i, bool) or not isinstance(i, int) or i <= 0:
        raise ValueError(f"containment.id {i!r}: expected a positive integer (incidentd's containment id)")
    if a not in CONTAINMENT_ACTIONS:
        raise ValueError(f"containment.action {a!r}: expected fallback, disable or block_inputs")
    return {"id": i, "action": a}


def text_value(field: str, v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"{field} must be a string, got {type(v).__name__}")
    return v


def check_event(ev: Mapping[str, Any]) -> Dict[str, JSON]:
    """Checks a raw event (log_event) and returns a converted copy."""
    if not isinstance(ev, Mapping):
        raise ValueError(f"an event must be a mapping, got {type(ev).__name__}")
    out: Dict[str, JSON] = {}
    for k, v in ev.items():
        if k not in EVENT_FIELDS:
            raise ValueError(f"{k}: unknown field; the event schema has {', '.join(sorted(EVENT_FIELDS))}")
        if v is None:
            continue
        out[k] = _CHECKS[k](v)
    if "model" not in out:
        raise ValueError("model is required")
    if "reference_answer" in out and "output_text" not in out:
        raise ValueError("reference_answer needs output_text (the answer it scores)")
    return out


_CHECKS: Dict[str, Any] = {
    "model": lambda v: _name("model", v),
    "version": lambda v: _name("version", v),
    "id": id_value,
    "timestamp": lambda v: timestamp_value("timestamp", v),
    "features": features_dict,
    "prediction": prediction_value,
    "scores": lambda v: number_map("scores", v, non_negative=False),
    "latency_seconds": lambda v: _finite("latency_seconds", v, non_negative=True),
    "error": error_value,
    "tokens": tokens_value,
    "cost": lambda v: _finite("cost", v, non_negative=True),
    "outcome": outcome_value,
    "feedback": feedback_value,
    "input_text_length": lambda v: _finite("input_text_length", v, non_negative=True),
    "business": lambda v: number_map("business", v, non_negative=True),
    "queue_depth": lambda v: _finite("queue_depth", v, non_negative=True),
    "output_text": lambda v: text_value("output_text", v),
    "reference_answer": lambda v: text_value("reference_answer", v),
    "containment": containment_value,
}


def label_truth(v: Any, field: str) -> JSON:
    u = to_json_value(field, v, nan_is_null=False)
    if u is None:
        raise ValueError(f"{field} must not be None")
    return u


def check_label(lb: Mapping[str, Any]) -> Dict[str, JSON]:
    out: Dict[str, JSON] = {}
    for k, v in lb.items():
        if k not in LABEL_FIELDS:
            raise ValueError(f"{k}: unknown field; a label has {', '.join(sorted(LABEL_FIELDS))}")
        if v is None:
            continue
        if k in ("model", "version"):
            out[k] = _name(k, v)
        elif k == "id":
            out[k] = id_value(v)
        elif k == "timestamp":
            out[k] = timestamp_value("timestamp", v)
        elif k == "value":
            out[k] = _finite("value", v)
        elif k == "label":
            out[k] = label_truth(v, "label")
        else:
            out[k] = prediction_value(v)
    if "model" not in out:
        raise ValueError("model is required")
    if "id" not in out:
        raise ValueError("id is required (the id of the prediction this label is for)")
    if ("label" in out) == ("value" in out):
        raise ValueError("give exactly one of label (the true class) or value (the true number)")
    return out


def rows(data: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for i, r in enumerate(data):
        if not isinstance(r, Mapping):
            raise ValueError(f"row {i}: want a mapping of column to value, got {type(r).__name__}")
        yield r
