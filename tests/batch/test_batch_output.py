"""The output file of `batch`: resume, rows exactly once, settings recorded, .csv/.parquet."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from fixtures.tiny_model import write_tiny_bundle
from im2txt import DecodeConfig, load_captioner
from im2txt.batch import formats
from im2txt.batch.output import Output, RunSettings
from im2txt.errors import Im2txtError

SETTINGS = RunSettings("tiny test model", "ab" * 32, DecodeConfig(beam_size=2))


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> list[dict]:
    """Real rows: the tiny model's captions of four images, and one error row."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    names = []
    for i in range(4):
        path = folder / f"photo {i}, ü.png"  # a comma and a non-ASCII letter for the CSV
        Image.fromarray(rng.integers(0, 256, (24, 30, 3), np.uint8)).save(path)
        names.append(str(path))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    names.append(str(folder / "broken.jpg"))
    captioner = load_captioner(write_tiny_bundle(tmp_path_factory.mktemp("model") / "tiny"))
    results = captioner.caption_each(names, names=names, decode=SETTINGS.decode)
    assert results[-1].error and all(r.captions for r in results[:-1])
    return [result.to_dict() for result in results]


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_rows_are_the_caption_json_shape_and_a_rerun_sees_them_done(tmp_path, records):
    out = Output(tmp_path / "out.jsonl", SETTINGS)
    assert out.open() == set()
    assert out.append(records[:3]) == records[:3]
    out.close()
    assert lines(tmp_path / "out.jsonl") == records[:3]
    assert json.loads((tmp_path / "out.jsonl.settings.json").read_text()) == SETTINGS.to_dict()

    again = Output(tmp_path / "out.jsonl", SETTINGS)
    assert again.open() == {r["image"] for r in records[:3]}
    # A retried batch's repeat is dropped; only the new image is written.
    assert again.append(records[2:4]) == [records[3]]
    again.finish()
    assert lines(tmp_path / "out.jsonl") == records[:4]


def test_a_line_cut_by_a_killed_driver_is_dropped_and_its_image_redone(tmp_path, records):
    path = tmp_path / "out.jsonl"
    out = Output(path, SETTINGS)
    out.open()
    out.append(records[:2])
    out.close()
    whole = path.read_bytes()
    cut = json.dumps(records[2]).encode()[:25]  # a kill in the middle of a write
    path.write_bytes(whole + cut)

    again = Output(path, SETTINGS)
    assert again.open() == {records[0]["image"], records[1]["image"]}
    assert path.read_bytes() == whole
    again.append(records[2:])
    again.close()
    assert lines(path) == records


def test_a_damaged_complete_line_is_refused_not_overwritten(tmp_path, records):
    path = tmp_path / "out.jsonl"
    out = Output(path, SETTINGS)
    out.open()
    out.append(records[:1])
    out.close()
    path.write_text(path.read_text() + "not json\n" + json.dumps(records[1]) + "\n")
    with pytest.raises(Im2txtError, match=r"out.jsonl: line 2 is not a row written by `batch`"):
        Output(path, SETTINGS).open()


def test_other_settings_or_a_foreign_file_are_refused(tmp_path, records):
    path = tmp_path / "out.jsonl"
    out = Output(path, SETTINGS)
    out.open()
    out.append(records[:1])
    out.close()
    other = RunSettings("tiny test model", SETTINGS.model_sha256, DecodeConfig(beam_size=5))
    with pytest.raises(Im2txtError, match=r"beam size 2.*this run uses.*beam size 5"):
        Output(path, other).open()
    other_model = RunSettings("another", "cd" * 32, SETTINGS.decode)
    with pytest.raises(Im2txtError, match="another --out"):
        Output(path, other_model).open()
    assert lines(path) == records[:1]  # untouched

    foreign = tmp_path / "mine.jsonl"
    foreign.write_text('{"image": "x"}\n')
    with pytest.raises(Im2txtError, match="was not written by `batch`"):
        Output(foreign, SETTINGS).open()
    with pytest.raises(Im2txtError, match=r"unknown output format '\.txt'"):
        Output(tmp_path / "out.txt", SETTINGS)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_csv_and_parquet_are_written_at_the_end_merging_earlier_rows(tmp_path, records, suffix):
    path = tmp_path / f"out{suffix}"
    journal = tmp_path / f"out{suffix}.journal.jsonl"
    first = Output(path, SETTINGS)
    first.open()
    first.append(records[:2])
    first.close()  # stopped: the rows wait in the journal, OUT does not exist yet
    assert not path.exists() and lines(journal) == records[:2]

    second = Output(path, SETTINGS)
    assert second.open() == {r["image"] for r in records[:2]}
    second.append(records[2:3])
    second.finish()
    assert not journal.exists()
    assert list(formats.read_records(path)) == records[:3]  # floats read back exactly

    # An archive that grew: a later run adds its new rows to the finished file.
    third = Output(path, SETTINGS)
    assert third.open() == {r["image"] for r in records[:3]}
    third.append(records[1:])  # one repeat, dropped
    third.finish()
    assert list(formats.read_records(path)) == records


def test_a_stop_between_writing_out_and_removing_the_journal_leaves_no_repeat(tmp_path, records):
    path = tmp_path / "out.csv"
    out = Output(path, SETTINGS)
    out.open()
    out.append(records[:3])
    out.finish()
    # As if killed right after the rename: the journal still holds rows OUT already has.
    journal = tmp_path / "out.csv.journal.jsonl"
    journal.write_text("".join(json.dumps(r) + "\n" for r in records[1:3]))
    again = Output(path, SETTINGS)
    again.open()
    again.append(records[3:])
    again.finish()
    assert list(formats.read_records(path)) == records


def test_the_csv_has_one_line_per_image_with_the_captions_side_by_side(tmp_path, records):
    path = tmp_path / "out.csv"
    formats.write(path, ".csv", records, beam_size=2)
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == [
        "image", "error", "caption_1", "probability_1", "log_probability_1",
        "caption_2", "probability_2", "log_probability_2",
    ]  # fmt: skip
    assert len(rows) == 1 + len(records)
    first = records[0]["captions"]
    assert rows[1] == [records[0]["image"], ""] + [
        str(value) for c in first for value in (c["text"], c["probability"], c["log_probability"])
    ]
    assert rows[-1] == [records[-1]["image"], records[-1]["error"]]
