"""Caption results as CSV: the one layout, one line per image, that `batch` writes and reads
back and the app's Image page downloads.

Columns: image, error, then caption_1, probability_1, log_probability_1, caption_2, ... up to the
beam size; an image that failed has its error and no captions, one with fewer captions than the
beam size leaves the rest empty. Floats are written in full, so that they read back exactly.

One line per image rather than one per caption: a line is one result (as in the JSON and
parquet outputs), so `batch` can resume by reading which images are done, a failed image is one
line with its error, and a spreadsheet shows each image's captions side by side.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import TextIO


def csv_header(beam_size: int) -> list[str]:
    header = ["image", "error"]
    for rank in range(1, beam_size + 1):
        header += [f"caption_{rank}", f"probability_{rank}", f"log_probability_{rank}"]
    return header


def write_csv(file: TextIO, records: Iterable[dict], beam_size: int) -> None:
    """Write records (ImageCaptions.to_dict()'s shape) under csv_header(beam_size)."""
    writer = csv.writer(file)
    writer.writerow(csv_header(beam_size))
    for record in records:
        row = [record["image"], record.get("error") or ""]
        for caption in record.get("captions") or []:
            row += [caption["text"], caption["probability"], caption["log_probability"]]
        writer.writerow(row)


def read_csv(file: TextIO) -> Iterator[dict]:
    """The records of a file write_csv wrote. ValueError when its header is not this layout's."""
    reader = csv.reader(file)
    header = next(reader, None)
    if not header or header[:2] != ["image", "error"]:
        raise ValueError("no image,error header")
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
