"""The vocabulary: word_counts.txt lines <-> word ids."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

from im2txt.errors import ModelError

# The vocabulary file's name beside a checkpoint or in a bundle, as the original wrote it.
VOCAB_NAME = "word_counts.txt"

START_WORD = "<S>"
END_WORD = "</S>"
UNKNOWN_WORD = "<UNK>"

# Python-3 vocabularies written by str(bytes): b'word' or b"wo'rd".
_BYTES_LITERAL = re.compile(r"""^b(['"]).*\1$""")


class Vocabulary:
    """Word ids are the 0-based line numbers of word_counts.txt; <UNK> is appended when absent."""

    def __init__(self, words: Iterable[str], source: str = "<memory>") -> None:
        self.words: list[str] = list(words)
        self.source = source
        if UNKNOWN_WORD not in self.words:
            self.words.append(UNKNOWN_WORD)
        # A repeated word maps to its last line, as the original's dict(enumerate(...)) did.
        self._ids = {word: i for i, word in enumerate(self.words)}
        for required in (START_WORD, END_WORD):
            if required not in self._ids:
                raise ModelError(f"{source}: vocabulary has no {required} word")
        self.start_id = self._ids[START_WORD]
        self.end_id = self._ids[END_WORD]
        self.unk_id = self._ids[UNKNOWN_WORD]

    @classmethod
    def from_file(cls, path: str | Path) -> Vocabulary:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ModelError(f"{path}: vocabulary file not found") from None
        except UnicodeDecodeError:
            raise ModelError(f"{path}: vocabulary is not UTF-8 text") from None
        except OSError as e:
            raise ModelError(f"{path}: cannot read vocabulary ({e.strerror})") from None
        words = []
        for number, line in enumerate(text.splitlines(), start=1):
            fields = line.split()
            if not fields:
                raise ModelError(f"{path}: line {number} is empty; expected 'word count'")
            words.append(_decode_token(fields[0]))
        return cls(words, source=str(path))

    def __len__(self) -> int:
        return len(self.words)

    def word_to_id(self, word: str) -> int:
        return self._ids.get(word, self.unk_id)

    def id_to_word(self, word_id: int) -> str:
        if 0 <= word_id < len(self.words):
            return self.words[word_id]
        return UNKNOWN_WORD

    def output_word(self, word_id: int) -> str:
        """The word for an id a model wrote in a caption. A trained model never writes ids past
        its vocabulary (its softmax may be wider, as the COCO model's 12,000 is, but those rows
        were never targets): one that does was given a vocabulary it was not trained with."""
        if 0 <= word_id < len(self.words):
            return self.words[word_id]
        raise ModelError(
            f"{self.source}: the model wrote word id {word_id}, past this vocabulary's "
            f"{len(self.words)} words: it is not the vocabulary the model was trained with"
        )

    def write(self, path: str | Path, counts: Iterable[int] | None = None) -> None:
        """Write word_counts.txt in the plain format (the appended <UNK> is left out)."""
        words = self.words
        if words[-1] == UNKNOWN_WORD and UNKNOWN_WORD not in words[:-1]:
            words = words[:-1]
        counts = list(counts) if counts is not None else [1] * len(words)
        Path(path).write_text("\n".join(f"{w} {c}" for w, c in zip(words, counts, strict=True)))


def _decode_token(token: str) -> str:
    if _BYTES_LITERAL.match(token):
        try:
            return ast.literal_eval(token).decode("utf-8")
        except (ValueError, SyntaxError, UnicodeDecodeError):
            return token
    return token
