"""Finished rows as .csv or .parquet files (written whole, streamed; read back for a resume).

A row is the dict ImageCaptions.to_dict() gives (`caption --json`'s shape): `image`, then
`captions` (text, probability, log_probability, best first) or `error`.
- .csv: one line per image (im2txt.results_csv, the layout the app's Image page downloads too);
- .parquet: columns image (string), captions (list of struct text/probability/log_probability,
  null for an error) and error (string, null when captioned), written with pyarrow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from im2txt.errors import Im2txtError
from im2txt.results_csv import read_csv, write_csv

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


def _write_csv(path: Path, records: Iterable[dict], beam_size: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        write_csv(file, records, beam_size)


def _read_csv(path: Path) -> Iterator[dict]:
    with open(path, newline="", encoding="utf-8") as file:
        try:
            yield from read_csv(file)
        except ValueError as e:
            raise Im2txtError(f"{path}: not a CSV written by `batch` ({e})") from None


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
