"""A nightly batch scoring job with pandas: score a table, then log every row in one call.

    python3 batch_scoring.py --exporter http://127.0.0.1:9477 customers.csv

``log_predictions`` waits for room when the queue is full (a batch job is not a request
path), so a large table is sent completely; ``set_reference`` uploads the training table.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

import opscentre


def make_data(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer": [f"c{i}" for i in range(n)],
        "tenure_months": rng.integers(1, 120, n),
        "monthly_spend": rng.gamma(2.0, 30.0, n) + shift,
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
    })


def score(train: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    X = pd.get_dummies(train[["tenure_months", "monthly_spend", "plan"]])
    y = train["monthly_spend"] * 12 - train["tenure_months"]  # a stand-in for lifetime value
    model = RandomForestRegressor(n_estimators=20, random_state=0).fit(X, y)
    Xt = pd.get_dummies(table[["tenure_months", "monthly_spend", "plan"]]).reindex(columns=X.columns, fill_value=0)
    return table.assign(prediction=model.predict(Xt))


def run(exporter: str, table: pd.DataFrame, train: pd.DataFrame) -> opscentre.Stats:
    with opscentre.Client(exporter, model="ltv", version="2026-12") as client:
        client.set_reference(score(train, train).drop(columns="customer"))
        scored = score(train, table)
        client.log_predictions(scored, id="customer")
        client.flush(60)
        return client.stats()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", default="http://127.0.0.1:9477")
    ap.add_argument("table", nargs="?", help="CSV to score (default: generated, with drift)")
    args = ap.parse_args()
    train = make_data(5000)
    table = pd.read_csv(args.table) if args.table else make_data(20000, shift=25.0, seed=1)
    print(run(args.exporter, table, train))


if __name__ == "__main__":
    main()
