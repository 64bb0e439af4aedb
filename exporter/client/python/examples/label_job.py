"""A batch job that sends ground truth once it is known (here: a CSV of id,label), joined by
id to the predictions the service logged; the exporter then reports accuracy, precision
and recall.

    python3 label_job.py --exporter http://127.0.0.1:9477 truth.csv
"""

from __future__ import annotations

import argparse
import csv
from typing import Iterable, Mapping

import opscentre

from wsgi_service import MODEL


def send_labels(client: opscentre.Client, rows: Iterable[Mapping[str, str]]) -> int:
    n = 0
    for row in rows:
        n += client.log_label(row["id"], row["label"])
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", default="http://127.0.0.1:9477")
    ap.add_argument("truth_csv")
    args = ap.parse_args()
    with opscentre.Client(args.exporter, model=MODEL, max_queue=100000) as client, open(args.truth_csv) as f:
        n = send_labels(client, csv.DictReader(f))
        sent = client.flush(60)
    print(f"{n} labels queued, all sent: {sent}, {client.stats()}")


if __name__ == "__main__":
    main()
