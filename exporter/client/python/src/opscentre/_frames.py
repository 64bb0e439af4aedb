"""Tables in, rows and request bodies out: a pandas DataFrame when pandas is installed, an
iterable of dicts otherwise. pandas is never imported here; a DataFrame is recognised by
its methods, so the core stays standard-library only."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, Iterator, Mapping, Tuple, Union

from . import _event as E

CHUNK_ROWS = 10000


def is_dataframe(data: Any) -> bool:
    return hasattr(data, "columns") and hasattr(data, "iloc") and hasattr(data, "to_dict")


def iter_rows(data: Any) -> Iterator[Mapping[str, Any]]:
    """Rows as dicts of column name to value; a DataFrame in chunks, not all at once."""
    if is_dataframe(data):
        names = [str(c) for c in data.columns]
        for start in range(0, len(data), CHUNK_ROWS):
            chunk = data.iloc[start : start + CHUNK_ROWS]
            # itertuples hands out numpy scalars per row; the event checks convert them.
            for values in chunk.itertuples(index=False, name=None):
                yield dict(zip(names, values))
        return
    if isinstance(data, (str, bytes)) or isinstance(data, Mapping):
        raise ValueError("want a pandas DataFrame or an iterable of dicts (one per row)")
    yield from E.rows(data)


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                return
            yield b


def _csv_chunks(df: Any) -> Iterator[bytes]:
    for start in range(0, max(len(df), 1), CHUNK_ROWS):
        # NaN becomes an empty cell, which the exporter reads as null.
        yield df.iloc[start : start + CHUNK_ROWS].to_csv(index=False, header=start == 0).encode("utf-8")


def _ndjson_chunks(rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    enc = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    buf = []
    for i, row in enumerate(E.rows(rows)):
        feats = {k: v for k, v in row.items() if k != "prediction"}
        ev: Dict[str, Any] = {}
        try:
            ev["features"] = E.features_dict(feats)
            if row.get("prediction") is not None:
                ev["prediction"] = E.prediction_value(row["prediction"])
        except ValueError as e:
            raise ValueError(f"row {i}: {e}") from None
        buf.append(enc(ev))
        if len(buf) >= 1000:
            yield ("\n".join(buf) + "\n").encode("utf-8")
            buf = []
    if buf:
        yield ("\n".join(buf) + "\n").encode("utf-8")


def reference_body(data: Any) -> Tuple[str, Union[bytes, Iterator[bytes]]]:
    """Content type and body (streamed) of a reference upload."""
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise ValueError(f"reference: no such file {path!r}")
        ct = "application/x-ndjson" if path.endswith((".ndjson", ".jsonl")) else "text/csv"
        return ct, _file_chunks(path)
    if is_dataframe(data):
        return "text/csv", _csv_chunks(data)
    if isinstance(data, (bytes, Mapping)):
        raise ValueError("reference: want a DataFrame, a CSV file path or an iterable of row dicts")
    # Check the rows now, in the caller, rather than half-way through the upload.
    rows = list(E.rows(data))
    body = b"".join(_ndjson_chunks(rows))
    return "application/x-ndjson", body
