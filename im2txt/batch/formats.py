"""Finished rows as .csv or .parquet files (written whole, streamed; read back for a resume).

A row is the dict ImageCaptions.to_dict() gives (`caption --json`'s shape): `image`, then
`captions` (text, probability, log_probability, best first) or `error`.
- .csv: one line per image: image, error, caption_1, probability_1, log_probability_1,
  caption_2, ... up to the beam size (floats written in full, so they read back exactly);
- .parquet: columns image (string), captions (list of struct text/probability/log_probability,
  null for an error) and error (string, null when captioned), written with pyarrow.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from im2txt.errors import Im2txtError

_CHUNK = 1024  # rows per parquet row group: bounded memory whatever the archive's size


def write(path: Path, kind: str, records: Iterable[dict], beam_size: int) -> None:
    """Write `records` to `path` as `kind` (".csv" or ".parquet")."""
    if kind == ".csv":
        _write_csv(path, records, beam_size)
    else:
        _write_parquet(path, records)


def read_names(path: Path) -> Iterator[str]:
    for record in read_records(path):
        yield record["image"]


def read_records(path: Path) -> Iterator[dict]:
    return _read_csv(path) if path.suffix.lower() == ".csv" else _read_parquet(path)


def csv_header(beam_size: int) -> list[str]:
    header = ["image", "error"]
    for rank in range(1, beam_size + 1):
        header += [f"caption_{rank}", f"probability_{rank}", f"log_probability_{rank}"]
    return header


def _write_csv(path: Path, records: Iterable[dict], beam_size: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(csv_header(beam_size))
        for record in records:
            row = [record["image"], record.get("error") or ""]
            for caption in record.get("captions") or []:
                row += [caption["text"], caption["probability"], caption["log_probability"]]
            writer.writerow(row)


def _read_csv(path: Path) -> Iterator[dict]:
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if not header or header[:2] != ["image", "error"]:
            raise Im2txtError(f"{path}: not a CSV written by `batch` (no image,error header)")
        for row in reader:
            if row[1]:
                yield {"image": row[0], "error": row[1]}
                continue
            cells = row[2:]
            captions = [
                {"text": text, "probability": float(p), "log_probability": float(logp)}
                for text, p, logp in zip(cells[0::3], cells[1::3], cells[2::3], strict=False)
                if p != ""
            ]
            yield {"image": row[0], "captions": captions}


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise Im2txtError(
            "writing .parquet needs pyarrow: pip install -r requirements-cluster.txt "
            "(or pip install .[cluster])"
        ) from None
    return pa, pq


def _schema(pa):
    caption = pa.struct(
        [("text", pa.string()), ("probability", pa.float64()), ("log_probability", pa.float64())]
    )
    return pa.schema(
        [("image", pa.string()), ("captions", pa.list_(caption)), ("error", pa.string())]
    )


def _write_parquet(path: Path, records: Iterable[dict]) -> None:
    pa, pq = _pyarrow()
    schema = _schema(pa)
    records = iter(records)
    with pq.ParquetWriter(path, schema) as writer:
        while chunk := list(islice(records, _CHUNK)):
            columns = {
                "image": [r["image"] for r in chunk],
                "captions": [r.get("captions") if "error" not in r else None for r in chunk],
                "error": [r.get("error") for r in chunk],
            }
            writer.write_table(pa.table(columns, schema=schema))


def _read_parquet(path: Path) -> Iterator[dict]:
    _, pq = _pyarrow()
    try:
        file = pq.ParquetFile(path)
    except Exception as e:  # ArrowInvalid and friends for a damaged or foreign file
        raise Im2txtError(f"{path}: cannot read ({e})") from None
    for batch in file.iter_batches(batch_size=_CHUNK):
        for row in batch.to_pylist():
            if row.get("error") is not None:
                yield {"image": row["image"], "error": row["error"]}
            else:
                yield {"image": row["image"], "captions": row["captions"] or []}
