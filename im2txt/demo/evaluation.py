"""Scoring a captioner on generated scenes: are the objects named, the relation right, BLEU-4.

The demo model's held-out scores come from here; scenes from held_out_scenes are never among
the training scenes (a different seed stream).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from im2txt.config import DecodeConfig
from im2txt.demo import scene_grammar, scenes
from im2txt.demo.bleu import corpus_bleu
from im2txt.demo.values import COLOURS, SHAPES, Accuracy, EvalReport, Scene
from im2txt.progress import ImageProgress

if TYPE_CHECKING:
    from im2txt.captioner import Captioner

# Held-out scenes are drawn from SeedSequence((HELD_OUT_SEED, 1, num_objects)); demo_training's
# scenes from SeedSequence((seed, 0)): the streams differ for every training seed.
HELD_OUT_SEED = 2024
_HELD_OUT_STREAM = 1


def held_out_scenes(
    count: int, num_objects: int | None = None, seed: int = HELD_OUT_SEED
) -> list[Scene]:
    """`count` scenes that training never sees (a different seed stream), of num_objects each."""
    rng = np.random.default_rng(np.random.SeedSequence((seed, _HELD_OUT_STREAM, num_objects or 0)))
    return [scenes.random_scene(rng, num_objects) for _ in range(count)]


def named_objects(caption: str) -> Counter:
    """(colour, shape) -> how many the caption names: "two red circles" counts 2."""
    words = caption.split()
    named: Counter = Counter()
    plurals = {shape + "s": shape for shape in SHAPES}
    for i, word in enumerate(words[:-1]):
        if word not in COLOURS:
            continue
        following = words[i + 1]
        if following in SHAPES:
            named[(word, following)] += 1
        elif following in plurals:
            number = {"two": 2, "three": 3}.get(words[i - 1] if i else "", 2)
            named[(word, plurals[following])] += number
    return named


def stated_relation(caption: str) -> tuple[tuple[str, str], str, tuple[str, str]] | None:
    """(kind A, relation, kind B) for "... A <relation words> ... B ...", else None."""
    words = caption.split()
    for relation, phrase in scene_grammar.RELATIONS.items():
        pattern = phrase.split()
        for i in range(len(words) - len(pattern) + 1):
            if words[i : i + len(pattern)] == pattern:
                before = list(named_objects(" ".join(words[:i])))
                after = list(named_objects(" ".join(words[i + len(pattern) :])))
                if len(before) == 1 and len(after) == 1:
                    return before[0], relation, after[0]
                return None
    return None


def evaluate(
    captioner: Captioner,
    scene_list: Sequence[Scene],
    decode: DecodeConfig | None = None,
    progress: ImageProgress | None = None,
) -> EvalReport:
    """Score the top beam-search caption of each scene (see EvalReport); progress(done, total)."""
    results = captioner.caption_many(
        [scene.image for scene in scene_list], decode=decode, progress=progress
    )
    top = [captions[0].text for captions in results]
    tallies = {count: [0, 0] for count in (1, 2, 3)}
    relation = [0, 0]
    for scene, caption in zip(scene_list, top, strict=True):
        expected = Counter((obj.colour, obj.shape) for obj in scene.objects)
        tally = tallies[len(scene.objects)]
        tally[0] += named_objects(caption) == expected
        tally[1] += 1
        if scene.relation is not None and len(expected) == 2:
            stated = stated_relation(caption)
            if stated is not None:
                a, b = ((obj.colour, obj.shape) for obj in scene.objects)
                inverse = scene_grammar.INVERSE_RELATION[scene.relation]
                relation[0] += stated in ((a, scene.relation, b), (b, inverse, a))
                relation[1] += 1
    bleu = corpus_bleu(
        [caption.split() for caption in top],
        [[reference.split() for reference in scene.captions] for scene in scene_list],
    )
    return EvalReport(
        one_object=Accuracy(*tallies[1]),
        two_object=Accuracy(*tallies[2]),
        three_object=Accuracy(*tallies[3]),
        relation=Accuracy(*relation),
        bleu=bleu,
    )
