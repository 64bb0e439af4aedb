"""Input checks in the caller, numpy/pandas conversion, and the table helpers."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

import opscentre
from conftest import Exporter, Front, Request, need

np = need("numpy")
pd = need("pandas")
from test_client import lines

# Each of these the exporter would reject; the client says so at once, naming the field.
BAD: List[Any] = [
    (dict(latency=float("nan")), "latency"),
    (dict(latency=-0.1), "latency"),
    (dict(latency=np.float64("inf")), "latency"),
    (dict(outcome="completd"), "outcome.task"),
    (dict(outcome={"task": "completed", "why": 1}), "outcome.why"),
    (dict(features={"amount": float("inf")}), "features.amount"),
    (dict(features={"amount": np.float32("-inf")}), "features.amount"),
    (dict(features={"when": object()}), "features.when"),
    (dict(features=[1, 2], feature_names=["a"]), "feature_names"),
    (dict(prediction=float("nan")), "prediction"),
    (dict(prediction=np.array([1, 2])), "prediction"),
    (dict(scores={"a": float("nan")}), "scores.a"),
    (dict(feedback=6), "feedback.rating"),
    (dict(feedback="meh"), "feedback.rating"),
    (dict(tokens={"input": 10, "cached": 20}), "tokens.cached"),
    (dict(tokens={"input": 1.5}), "tokens.input"),
    (dict(tokens={"inptu": 1}), "tokens.inptu"),
    (dict(cost=-1), "cost"),
    (dict(business={"revenue": -3}), "business.revenue"),
    (dict(queue_depth=float("nan")), "queue_depth"),
    (dict(input_text_length=-1), "input_text_length"),
    (dict(reference_answer="the answer"), "reference_answer"),
    (dict(error=42), "error"),
    (dict(timestamp=time.time() * 1000), "timestamp"),
    (dict(id=1.5), "id"),
    (dict(model="x" * 300), "model"),
]


@pytest.mark.parametrize("kwargs,field", BAD, ids=[f for _, f in BAD])
def test_bad_input_raises_naming_the_field(kwargs: Dict[str, Any], field: str) -> None:
    c = opscentre.Client("http://127.0.0.1:9", model="m")
    try:
        with pytest.raises(ValueError) as e:
            c.log_prediction(**kwargs)
        assert field in str(e.value)
        assert c.stats().queued == 0
    finally:
        c.close(0)


def test_bad_raw_events_and_labels() -> None:
    c = opscentre.Client("http://127.0.0.1:9", model="m")
    try:
        with pytest.raises(ValueError, match="latency_secs: unknown field"):
            c.log_event({"latency_secs": 1})
        with pytest.raises(ValueError, match="exactly one of label"):
            c.log_label("id-1")
        with pytest.raises(ValueError, match="exactly one of label"):
            c.log_label("id-1", "a", value=1.0)
        with pytest.raises(ValueError, match="value must be finite"):
            c.log_label("id-1", value=float("nan"))
        with pytest.raises(ValueError, match="model is required"):
            opscentre.Client("http://127.0.0.1:9").log_prediction({"x": 1})
        with pytest.raises(ValueError, match="url"):
            opscentre.Client("localhost:9477")
    finally:
        c.close(0)


def test_the_server_agrees_with_the_client_checks(exporter: Exporter, model: str) -> None:
    """What the client refuses, the exporter rejects too (validate=False sends it as is)."""
    got: List[opscentre.Rejection] = []
    with opscentre.Client(exporter.url, model=model, validate=False, on_rejection=got.append) as c:
        c.log_prediction(latency=-0.1)
        c.log_prediction(outcome={"task": "completd"})
        c.log_prediction(feedback={"rating": 6})
        c.log_prediction(tokens={"input": 10, "cached": 20})
        c.log_prediction(features={"a": float("nan")})  # NaN is not JSON: never leaves the client
        assert c.flush(10)
        st = c.stats()
    assert [(r.field, r.reason) for r in got] == [
        ("latency_seconds", "negative_value"),
        ("outcome.task", "invalid_value"),
        ("feedback.rating", "invalid_value"),
        ("tokens.cached", "invalid_value"),
    ]
    assert (st.rejected, st.failed) == (4, 1)


def ok_server(front: Callable[..., Front]) -> Front:
    def decide(i: int, r: Request) -> Any:
        n = len(lines(r))
        return (200, {}, json.dumps({"accepted": n, "rejected": []}).encode())

    return front(None, decide)


def test_numpy_values_are_converted(front: Callable[..., Front], model: str) -> None:
    f = ok_server(front)
    with opscentre.Client(f.url, model=model, timestamps=False) as c:
        c.log_prediction(
            {"f32": np.float32(0.5), "i64": np.int64(7), "b": np.bool_(True), "s": np.str_("DE"),
             "missing": np.float64("nan"), "na": pd.NA},
            np.int64(1), id=np.int32(9), latency=np.float32(0.25),
        )
        row = np.array([1.0, np.nan, 3.0])
        proba = np.array([[0.1, 0.9]])
        c.log_prediction(row, np.array(["spam"])[0], feature_names=["a", "b", "c"],
                         scores=proba[0], classes=np.array(["ham", "spam"]))
        c.log_prediction({"x": 1}, np.bool_(False), scores={np.int64(0): 0.3, np.int64(1): 0.7})
        c.log_prediction(pd.DataFrame({"a": [1.5], "b": ["x"], "c": [np.nan]}).iloc[0])  # a row as a Series
        assert c.flush(10)
    ev = [e for r in f.requests for e in lines(r)]
    assert ev[0] == {
        "model": model, "id": 9, "latency_seconds": 0.25, "prediction": 1,
        "features": {"f32": 0.5, "i64": 7, "b": True, "s": "DE", "missing": None, "na": None},
    }
    assert ev[1]["features"] == {"a": 1.0, "b": None, "c": 3.0}
    assert ev[1]["prediction"] == "spam" and ev[1]["scores"] == {"ham": 0.1, "spam": 0.9}
    assert ev[2]["prediction"] is False and ev[2]["scores"] == {"0": 0.3, "1": 0.7}
    assert ev[3]["features"] == {"a": 1.5, "b": "x", "c": None}


def test_datetimes_become_unix_seconds(front: Callable[..., Front], model: str) -> None:
    import datetime as dt

    f = ok_server(front)
    when = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.timezone.utc)
    with opscentre.Client(f.url, model=model) as c:
        c.log_prediction({"x": 1}, timestamp=when)
        c.log_prediction({"x": 1}, timestamp=pd.Timestamp(when))
        c.log_prediction({"x": 1}, timestamp=np.datetime64("2026-12-07T12:00:00"))
        before = time.time()
        c.log_prediction({"x": 1})
        assert c.flush(10)
    ev = [e for r in f.requests for e in lines(r)]
    assert [e["timestamp"] for e in ev[:3]] == [when.timestamp()] * 3
    assert before <= ev[3]["timestamp"] <= time.time()


def test_the_caller_may_reuse_its_features_dict(front: Callable[..., Front], model: str) -> None:
    f = ok_server(front)
    with opscentre.Client(f.url, model=model) as c:
        feats = {"x": 1}
        c.log_prediction(feats, "a")
        feats["x"] = 2
        c.log_prediction(feats, "b")
        assert c.flush(10)
    assert [e["features"]["x"] for r in f.requests for e in lines(r)] == [1, 2]


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "amount": rng.gamma(2.0, 50.0, n),
        "country": rng.choice(["DE", "FR", "US"], n),
        "new_customer": rng.random(n) < 0.2,
        "age": np.where(rng.random(n) < 0.1, np.nan, rng.integers(18, 90, n)),
    })


def test_log_predictions_from_a_dataframe(exporter: Exporter, model: str) -> None:
    df = frame(3000)
    df["prediction"] = np.where(df["amount"] > 150, "review", "ok")
    df["tx"] = [f"t{i}" for i in range(len(df))]
    # A queue smaller than the frame: the batch helper waits for room instead of dropping.
    with opscentre.Client(exporter.url, model=model, max_queue=500, batch_size=250) as c:
        assert c.log_predictions(df, id="tx") == 3000
        assert c.flush(10)
        st = c.stats()
        # and the labels, from a list of dicts
        for r in df.head(100).to_dict("records"):
            c.log_label(r["tx"], r["prediction"])
        assert c.flush(10)
    assert (st.sent, st.dropped, st.rejected) == (3000, 0, 0)
    assert exporter.value("aiops_events_total", model=model) == 3000
    assert exporter.value("aiops_feature_null_ratio", model=model, feature="age") == pytest.approx(
        df["age"].isna().mean()
    )
    assert exporter.value("aiops_predictions_labeled_total", model=model, outcome="correct") == 100


def test_log_predictions_from_dicts_with_a_prediction_array(exporter: Exporter, model: str) -> None:
    rows = [{"x": float(i), "kind": "a"} for i in range(40)]
    with opscentre.Client(exporter.url, model=model) as c:
        assert c.log_predictions(rows, prediction=np.arange(40) % 2 == 0) == 40
        with pytest.raises(ValueError, match="row 1: features.x must be finite"):
            c.log_predictions([{"x": 1.0}, {"x": math.inf}])
        assert c.flush(10)
    assert exporter.value("aiops_events_total", model=model) == 41


def references(exporter: Exporter) -> Dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(exporter.url + "/api/v1/references") as r:
        return {f"{x['model']}/{x['version']}": x for x in json.load(r)["references"]}


def test_set_reference_from_a_frame_a_csv_file_and_dicts(exporter: Exporter, model: str, tmp_path: Path) -> None:
    df = frame(1500, seed=1)
    df["prediction"] = np.where(df["amount"] > 150, "review", "ok")
    csv = tmp_path / "train.csv"
    df.to_csv(csv, index=False)
    with opscentre.Client(exporter.url, model=model) as c:
        a = c.set_reference(df, version="frame")
        b = c.set_reference(str(csv), version="csv", categorical=["age"])
        d = c.set_reference(df.to_dict("records"), version="dicts")
    for ans in (a, b, d):
        assert ans["rows"] == 1500 and ans["features"] == 5  # 4 features and the prediction
    refs = references(exporter)
    assert refs[f"{model}/frame"]["rows"] == refs[f"{model}/dicts"]["rows"] == 1500
    assert refs[f"{model}/csv"]["source"] == "upload"


def test_set_reference_errors_name_the_row(exporter: Exporter, model: str) -> None:
    rows = [{"amount": float(i)} for i in range(40)] + [{"amount": "lots"}]
    with opscentre.Client(exporter.url, model=model) as c:
        with pytest.raises(opscentre.ExporterError) as e:
            c.set_reference(rows)
        assert e.value.status == 400 and e.value.body["row"] == 41 and "amount" in str(e.value)
        with pytest.raises(ValueError, match=r"row 1: features.amount must be finite"):
            c.set_reference([{"amount": 1.0}, {"amount": math.inf}])
