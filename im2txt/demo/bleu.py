"""BLEU: corpus BLEU-n of tokenised captions against reference captions (Papineni et al. 2002)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bleu:
    """Corpus BLEU (Papineni et al. 2002) without smoothing: 0 when any precision is 0."""

    score: float
    # Modified (clipped) n-gram precisions for n = 1 .. max_n, over the whole corpus.
    precisions: tuple[float, ...]
    brevity_penalty: float
    # Candidate tokens, and the sum over candidates of the closest reference length.
    candidate_length: int
    reference_length: int


def corpus_bleu(
    candidates: Sequence[Sequence[str]],
    references: Sequence[Sequence[Sequence[str]]],
    max_n: int = 4,
) -> Bleu:
    """Corpus BLEU-max_n of tokenised candidates, each against its own list of references.

    Papineni et al. (2002), no smoothing: each candidate n-gram count is clipped to its largest
    count in any one reference; clipped counts and candidate n-gram counts are summed over the
    corpus before dividing; the score is the geometric mean of the n = 1 .. max_n precisions
    (0 if any is 0) times the brevity penalty exp(1 - r / c) when c <= r, where c is the total
    candidate length and r the sum of each candidate's closest reference length (the shorter
    on a tie), as in the reference implementation (multi-bleu) and NLTK.
    """
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} reference lists")
    clipped = [0] * max_n
    totals = [0] * max_n
    candidate_length = reference_length = 0
    for candidate, refs in zip(candidates, references, strict=True):
        if not refs:
            raise ValueError("every candidate needs at least one reference")
        candidate_length += len(candidate)
        reference_length += min((abs(len(r) - len(candidate)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(candidate, n)
            most: Counter = Counter()
            for ref in refs:
                most |= _ngrams(ref, n)  # elementwise max
            clipped[n - 1] += sum(min(c, most[g]) for g, c in counts.items())
            totals[n - 1] += sum(counts.values())
    precisions = tuple(c / t if t else 0.0 for c, t in zip(clipped, totals, strict=True))
    if candidate_length == 0:
        penalty = 0.0
    elif candidate_length > reference_length:
        penalty = 1.0
    else:
        penalty = math.exp(1.0 - reference_length / candidate_length)
    if min(precisions) > 0:
        score = penalty * math.exp(sum(math.log(p) for p in precisions) / max_n)
    else:
        score = 0.0
    return Bleu(score, precisions, penalty, candidate_length, reference_length)


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
