"""The Captioner's public calls: everything after the images is keyword-only, so a setting given
in the wrong place is refused by the signature, not by a failure deep inside."""

from __future__ import annotations

import pytest

from fixtures.paths import SEED_IMAGES
from fixtures.tiny_model import write_tiny_bundle
from im2txt import DecodeConfig, load_captioner


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_captioner(write_tiny_bundle(tmp_path_factory.mktemp("tiny")))


@pytest.mark.parametrize(
    "call",
    [
        lambda c, paths, decode: c.caption_each(paths, decode),
        lambda c, paths, decode: c.caption_each(paths, None, decode),
        lambda c, paths, decode: c.caption_many(paths, decode),
        lambda c, paths, decode: c.caption_many(paths, None, decode),
        lambda c, paths, decode: c.caption(paths[0], decode),
    ],
    ids=[
        "caption_each(paths, decode)",
        "caption_each(paths, None, decode)",
        "caption_many(paths, decode)",
        "caption_many(paths, None, decode)",
        "caption(path, decode)",
    ],
)
def test_settings_given_by_position_are_refused_by_the_signature(tiny, call):
    paths = [str(p) for p in sorted(SEED_IMAGES.glob("*.jpg"))[:2]]
    with pytest.raises(TypeError, match="positional argument"):
        call(tiny, paths, DecodeConfig(beam_size=2))
    assert (tiny.decoder.graph_images, tiny.decoder.exact_images) == (0, 0)  # nothing ran


def test_settings_given_by_name_are_used(tiny):
    paths = [str(p) for p in sorted(SEED_IMAGES.glob("*.jpg"))[:2]]
    decode = DecodeConfig(beam_size=2, max_caption_length=5)
    each = tiny.caption_each(paths, names=["a", "b"], decode=decode)
    many = tiny.caption_many(paths, decode=decode)
    assert [r.name for r in each] == ["a", "b"]
    assert [list(r.captions) for r in each] == many
    assert all(len(captions) <= 2 for captions in many)
    # caption() of one image searches step by step on a fresh captioner: the same words.
    assert [c.words for c in tiny.caption(paths[0], decode=decode)] == [c.words for c in many[0]]
