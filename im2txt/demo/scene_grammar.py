"""The grammar of the scenes' captions, and the words of their relations (values.py has the
colours, shapes and sizes).

Caption grammar. Tokens are lower case and separated by single spaces; a caption ends " ." as in
COCO. Objects are listed in the order given (random scenes order them left to right; for two objects
the left, or upper, one comes first, so the stored relation is "left" or "above").

    noun     := colour shape                        red circle
    sized    := size colour shape                   small red circle
    np(x)    := article x   ("an" before a vowel)   a red circle, an orange star
    group    := np(noun) | count colour plural      two red circles
    list     := group | group "and" group | group "," group "and" group
    relation := "to the left of" | "to the right of" | "above" | "below"

    one object       1. np(sized) .                   a small red circle .
                     2. np(noun) .                    a red circle .
    two, related     1. np(sized A) rel np(sized B) . a small red circle to the left of a large
                                                      blue square .
                     2. np(B) inverse-rel np(A) .     a blue square to the right of a red circle .
                     3. list .                        a red circle and a blue square .
    two identical    1. list .                        two green triangles .
    (same colour     2. np(sized A) rel np(sized B) . a small green triangle above a large green
     and shape)                                       triangle .
                     3. np(B) inverse-rel "another"   a green triangle below another green
                        noun(A) .                     triangle .
    three, or two    1. list, groups in order of      two red circles and a blue square .
    unrelated           first appearance .
                     2. every np(sized), in order .   a small red circle , a large blue square
                                                      and a small red circle .
                     3. list, groups reversed, when   a blue square and two red circles .
                        different from 1 .
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from im2txt.demo.values import COLOURS, SHAPES, SIZES

if TYPE_CHECKING:
    from im2txt.demo.values import SceneObject

# Relation of objects[0] to objects[1] -> its words, and the same relation seen from objects[1].
RELATIONS: dict[str, str] = {
    "left": "to the left of",
    "right": "to the right of",
    "above": "above",
    "below": "below",
}


INVERSE_RELATION: dict[str, str] = {
    "left": "right",
    "right": "left",
    "above": "below",
    "below": "above",
}


# Two objects are "left of" each other only if |dx| >= RELATION_MARGIN * |dy|, both in pixels and
# in coordinates normalised by the image size (the model sees the image stretched to a square),
# and their extents along that axis are disjoint; likewise for "above".
RELATION_MARGIN = 2.0


def caption_vocabulary() -> list[str]:
    """Every word the caption grammar can produce, each once."""
    words = ["a", "an", "another", "two", "three", *SIZES, *COLOURS, *SHAPES]
    words += [_plural(shape) for shape in SHAPES]
    for phrase in RELATIONS.values():
        words += phrase.split()
    words += ["and", ",", "."]
    return list(dict.fromkeys(words))


def scene_captions(
    objects: tuple[SceneObject, ...] | list[SceneObject], relation: str | None = None
) -> tuple[str, ...]:
    """Reference captions for objects in the given order, canonical first (see module docstring).

    `relation` says where objects[0] lies relative to objects[1]; only for two objects.
    """
    objects = tuple(objects)
    if not 1 <= len(objects) <= 3:
        raise ValueError(f"captions describe 1 to 3 objects, got {len(objects)}")
    if relation is not None and (len(objects) != 2 or relation not in RELATIONS):
        raise ValueError(f"relation {relation!r} needs two objects and one of {tuple(RELATIONS)}")
    if len(objects) == 1:
        (only,) = objects
        variants = [_noun_phrase(only, sized=True), _noun_phrase(only, sized=False)]
    elif relation is not None:
        first, second = objects
        words = RELATIONS[relation].split()
        inverse = RELATIONS[INVERSE_RELATION[relation]].split()
        related = _noun_phrase(first, sized=True) + words + _noun_phrase(second, sized=True)
        if _kind(first) == _kind(second):
            reverse = _noun_phrase(second, sized=False) + inverse + ["another", *_kind(first)]
            variants = [_group_list(objects), related, reverse]
        else:
            reverse = _noun_phrase(second, sized=False) + inverse + _noun_phrase(first, sized=False)
            variants = [related, reverse, _group_list(objects)]
    else:
        listed = _join([_noun_phrase(obj, sized=True) for obj in objects])
        variants = [_group_list(objects), listed, _group_list(objects, reverse=True)]
    return tuple(dict.fromkeys(" ".join(words) + " ." for words in variants))


def relation_between(
    first: SceneObject, second: SceneObject, size: tuple[int, int], margin: float = RELATION_MARGIN
) -> str | None:
    """Where `first` clearly lies relative to `second` in an image of size (width, height), or None.

    The dominant axis of the displacement must win by `margin` both in pixels and in coordinates
    normalised by the image size, and the two objects' extents along it must not overlap.
    """
    width, height = size
    dx = second.center[0] - first.center[0]
    dy = second.center[1] - first.center[1]
    a, b = first.bounds(), second.bounds()
    if abs(dx) >= margin * abs(dy) and abs(dx) / width >= margin * abs(dy) / height:
        if a[2] <= b[0]:
            return "left"
        if b[2] <= a[0]:
            return "right"
    if abs(dy) >= margin * abs(dx) and abs(dy) / height >= margin * abs(dx) / width:
        if a[3] <= b[1]:
            return "above"
        if b[3] <= a[1]:
            return "below"
    return None


def _kind(obj: SceneObject) -> list[str]:
    return [obj.colour, obj.shape]


def _plural(shape: str) -> str:
    return shape + "s"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _noun_phrase(obj: SceneObject, sized: bool) -> list[str]:
    words = ([obj.size] if sized else []) + _kind(obj)
    return [_article(words[0]), *words]


def _group_list(objects: tuple[SceneObject, ...], reverse: bool = False) -> list[str]:
    """Objects grouped by colour and shape, groups in order of first appearance."""
    counts: dict[tuple[str, str], int] = {}
    for obj in objects:
        counts[(obj.colour, obj.shape)] = counts.get((obj.colour, obj.shape), 0) + 1
    groups = []
    for (colour, shape), count in counts.items():
        if count == 1:
            groups.append([_article(colour), colour, shape])
        else:
            groups.append([("two", "three")[count - 2], colour, _plural(shape)])
    return _join(groups[::-1] if reverse else groups)


def _join(phrases: list[list[str]]) -> list[str]:
    """p; p and q; p , q and r."""
    words: list[str] = []
    for i, phrase in enumerate(phrases):
        if i == len(phrases) - 1 and i > 0:
            words.append("and")
        elif i > 0:
            words.append(",")
        words += phrase
    return words
