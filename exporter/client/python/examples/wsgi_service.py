"""A scikit-learn classifier served from a tiny WSGI app, watched by the exporter.

    python3 wsgi_service.py --exporter http://127.0.0.1:9477 --port 8000
    curl -s localhost:8000/predict -d '{"id": "req-1", "features": {"mean radius": 14.1, ...}}'

Three lines do the monitoring: the Client, the reference upload at start, and
``log_prediction`` in the handler. Labels arrive later from label_job.py, joined by id.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any, Callable, Dict, Iterable, List, Tuple

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import opscentre

MODEL, VERSION = "breast-cancer", "v1"


def train() -> Tuple[Any, List[str], Any]:
    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target.map(dict(enumerate(data.target_names)))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    train_frame = X.assign(prediction=model.predict(X))
    return model, list(X.columns), train_frame


def make_app(model: Any, names: List[str], client: opscentre.Client) -> Callable[..., Iterable[bytes]]:
    def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"] != "/predict" or environ["REQUEST_METHOD"] != "POST":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"POST /predict\n"]
        n = int(environ.get("CONTENT_LENGTH") or 0)
        req = json.loads(environ["wsgi.input"].read(n))
        rid = req.get("id") or str(uuid.uuid4())
        x = [[req["features"].get(f) for f in names]]
        start = time.perf_counter()
        import pandas as pd

        proba = model.predict_proba(pd.DataFrame(x, columns=names))[0]
        pred = model.classes_[proba.argmax()]
        # The one line on the request path: a dict into a queue, never a network call.
        client.log_prediction(req["features"], pred, id=rid, scores=proba, classes=model.classes_,
                              latency=time.perf_counter() - start)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"id": rid, "prediction": str(pred), "score": float(proba.max())}).encode()]

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", default="http://127.0.0.1:9477")
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args()
    model, names, train_frame = train()
    client = opscentre.Client(args.exporter, model=MODEL, version=VERSION)
    client.set_reference(train_frame)  # drift is measured against the training data
    from wsgiref.simple_server import make_server

    with make_server("127.0.0.1", args.port, make_app(model, names, client)) as srv:
        print(f"serving on http://127.0.0.1:{args.port}/predict")
        srv.serve_forever()


if __name__ == "__main__":
    main()
