"""The examples, run against the real exporter: a scikit-learn service with labels from a
batch job, and a pandas batch scoring job."""

from __future__ import annotations

import json
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any, Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

import opscentre
from conftest import Exporter, need

need("pandas")
need("sklearn")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))


class Quiet(WSGIRequestHandler):
    def log_message(self, *a: Any) -> None:
        pass


@pytest.fixture
def fresh_exporter(own_exporter: Exporter) -> Iterator[Exporter]:
    yield own_exporter.start()  # its own: the examples use fixed model names


def test_sklearn_wsgi_service_with_labels_from_a_batch_job(fresh_exporter: Exporter) -> None:
    import label_job
    import wsgi_service as ws
    from sklearn.datasets import load_breast_cancer

    model, names, train_frame = ws.train()
    client = opscentre.Client(fresh_exporter.url, model=ws.MODEL, version=ws.VERSION)
    assert client.set_reference(train_frame)["rows"] == len(train_frame)
    srv = make_server("127.0.0.1", 0, ws.make_app(model, names, client), handler_class=Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    data = load_breast_cancer(as_frame=True)
    X, y = data.data.iloc[:120], data.target.iloc[:120].map(dict(enumerate(data.target_names)))
    answers = {}
    try:
        for i, row in X.iterrows():
            body = json.dumps({"id": f"req-{i}", "features": row.to_dict()}).encode()
            with urllib.request.urlopen(f"http://127.0.0.1:{srv.server_port}/predict", body) as r:
                answers[f"req-{i}"] = json.load(r)["prediction"]
        assert client.flush(10)
    finally:
        srv.shutdown()
        client.close()
    v = fresh_exporter.value
    assert v("aiops_events_total", model=ws.MODEL) == 120
    # Later, a batch job sends the truth.
    truth = [{"id": f"req-{i}", "label": y[i]} for i in X.index]
    with opscentre.Client(fresh_exporter.url, model=ws.MODEL) as lc:
        assert label_job.send_labels(lc, truth) == 120
        assert lc.flush(10)
    expected = sum(answers[t["id"]] == t["label"] for t in truth) / 120
    assert v("aiops_labels_total", model=ws.MODEL, result="joined") == 120
    assert v("aiops_model_accuracy", model=ws.MODEL, version=ws.VERSION) == pytest.approx(expected)
    assert 0.9 < expected <= 1.0


def test_pandas_batch_scoring_job(fresh_exporter: Exporter) -> None:
    import batch_scoring as bs

    table = bs.make_data(6000, shift=60.0, seed=1)  # spend shifted: drift against training
    st = bs.run(fresh_exporter.url, table, bs.make_data(2000))
    assert (st.sent, st.dropped, st.failed, st.rejected) == (6000, 0, 0, 0)
    text = fresh_exporter.metrics()
    from conftest import metric_value

    assert metric_value(text, "aiops_events_total", model="ltv") == 6000
    assert metric_value(text, "aiops_feature_drifted", model="ltv", feature="monthly_spend") == 1
    assert metric_value(text, "aiops_feature_drifted", model="ltv", feature="tenure_months") == 0
