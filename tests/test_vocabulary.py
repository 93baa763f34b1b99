"""Vocabulary: ids are line numbers, both file formats, <UNK> handling, the real COCO file."""

from __future__ import annotations

import pytest

from fixtures.paths import COCO_VOCAB
from im2txt.errors import ModelError
from im2txt.vocabulary import Vocabulary


def test_real_coco_vocabulary():
    vocab = Vocabulary.from_file(COCO_VOCAB)
    # 11,519 lines + the appended <UNK>: the original logged "Created vocabulary with 11520 words".
    assert len(vocab) == 11520
    assert (vocab.word_to_id("a"), vocab.start_id, vocab.end_id) == (0, 1, 2)
    assert vocab.id_to_word(3) == "."
    assert vocab.unk_id == 11519
    assert vocab.id_to_word(11519) == "<UNK>"
    # Softmax ids past the vocabulary (11520..11999 in the COCO model) decode to <UNK>.
    assert vocab.id_to_word(11999) == "<UNK>"
    lines = COCO_VOCAB.read_text().splitlines()
    assert vocab.word_to_id("surfboard") == [line.split()[0] for line in lines].index("surfboard")
    assert vocab.word_to_id("no-such-word") == 11519


def test_bytes_literal_format_gives_same_ids(tmp_path):
    # Python-3 files written with str(bytes); here </S> comes before <S>, as in psycharo's file.
    lines = ["b'a' 969108", "b'</S>' 586368", "b'<S>' 586368", "b'.' 500000", 'b"it\'s" 12']
    path = tmp_path / "word_counts.txt"
    path.write_text("\n".join(lines))
    vocab = Vocabulary.from_file(path)
    assert vocab.words == ["a", "</S>", "<S>", ".", "it's", "<UNK>"]
    assert (vocab.start_id, vocab.end_id, vocab.unk_id) == (2, 1, 5)


def test_positions_of_start_and_end_are_read_not_assumed(tmp_path):
    path = tmp_path / "word_counts.txt"
    path.write_text("dog 9\ncat 8\n</S> 7\n<UNK> 6\n<S> 5\n")
    vocab = Vocabulary.from_file(path)
    assert (vocab.start_id, vocab.end_id, vocab.unk_id) == (4, 2, 3)
    assert len(vocab) == 5  # <UNK> present: not appended again


def test_missing_start_word_is_a_clear_error(tmp_path):
    path = tmp_path / "word_counts.txt"
    path.write_text("a 3\n</S> 2\n")
    with pytest.raises(ModelError, match=r"word_counts.txt: vocabulary has no <S> word"):
        Vocabulary.from_file(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ModelError, match="vocabulary file not found"):
        Vocabulary.from_file(tmp_path / "nope.txt")
    binary = tmp_path / "word_counts.txt"
    binary.write_bytes(b"\xff\xd8\xff\xe0 not text")
    with pytest.raises(ModelError, match="not UTF-8"):
        Vocabulary.from_file(binary)


def test_write_round_trip(tmp_path):
    vocab = Vocabulary(["<S>", "</S>", "red", "circle"])
    vocab.write(tmp_path / "w.txt", counts=[4, 4, 2, 1])
    assert (tmp_path / "w.txt").read_text() == "<S> 4\n</S> 4\nred 2\ncircle 1"
    assert Vocabulary.from_file(tmp_path / "w.txt").words == vocab.words
