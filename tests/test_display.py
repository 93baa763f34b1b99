"""Caption results in a notebook: the HTML (parsed back and compared with the results' fields) and
the plain text, for single captions, images with errors, partial captions and batches."""

from __future__ import annotations

import base64
import io
import math
import pickle
import re

import numpy as np
import pytest
from PIL import Image

from fixtures.html_tree import Node, parse
from fixtures.tiny_model import write_tiny_bundle
from im2txt import Caption, CaptionBatch, DecodeConfig, ImageCaptions, load_captioner
from im2txt.display import THUMBNAIL_SIDE, batch_html

HOSTILE_WORDS = ("a", "<script>alert(1)</script>", "&amp;", '"quoted"', "it's", "<b>")


def caption(words=("a", "red", "circle"), end: float | None = 0.9, seed: int = 0) -> Caption:
    rng = np.random.default_rng(seed)
    probabilities = tuple(float(p) for p in rng.uniform(0.001, 1, len(words)))
    log_p = sum(math.log(p) for p in probabilities) + (math.log(end) if end else 0.0)
    return Caption(tuple(words), log_p, probabilities, end)


def rendered_words(node: Node) -> list[tuple[str, float, str]]:
    """(word, probability from its tooltip, percentage shown under it) per word span."""
    return [
        (span.own_text(), float(span.attrs["title"].removeprefix("p=")), span.one("sub").text)
        for span in node.all("span", "im2txt-word")
    ]


def check_caption(node: Node, expected: Caption) -> None:
    """What a reader sees of one caption agrees with the Caption it came from."""
    words = rendered_words(node)
    assert [w for w, _, _ in words] == list(expected.words)
    assert [p for _, p, _ in words] == pytest.approx(expected.word_probabilities, abs=1e-6)
    assert [s for _, _, s in words] == [f"{round(100 * p)}%" for p in expected.word_probabilities]
    probability = node.one(cls="im2txt-probability").text
    assert float(probability.removeprefix("p=")) == pytest.approx(expected.probability, abs=1e-6)
    if expected.complete:
        end = node.one(cls="im2txt-end")
        assert float(end.attrs["title"].removeprefix("p=")) == pytest.approx(
            expected.end_probability, abs=1e-6
        )
        assert node.all(cls="im2txt-partial") == []
    else:
        assert node.all(cls="im2txt-end") == []
        assert "partial" in node.one(cls="im2txt-partial").text


def test_a_caption_shows_every_word_with_its_probability():
    expected = caption(HOSTILE_WORDS)
    tree = parse(expected._repr_html_())
    check_caption(tree, expected)
    # The vocabulary's words are text, never markup.
    assert tree.all("script") == [] and tree.all("b") == [tree.one(cls="im2txt-probability")]


def test_a_partial_caption_is_marked_and_has_no_end():
    check_caption(parse(caption(end=None)._repr_html_()), caption(end=None))
    complete, partial = caption(seed=1), caption(("a", "blue"), end=None, seed=2)
    result = ImageCaptions("x.png", (complete, partial))
    tree = parse(result._repr_html_())
    for item, expected in zip(tree.all("li"), result.captions, strict=True):
        check_caption(item, expected)
    lines = str(result).splitlines()
    assert lines[0] == "x.png"
    assert lines[1] == f"  0) a red circle (p={complete.probability:f})"
    assert lines[2] == f"  1) a blue (p={partial.probability:f}) [partial]"


def test_an_empty_caption_says_so():
    tree = parse(Caption((), math.log(0.9), (), 0.9)._repr_html_())
    assert tree.all(cls="im2txt-word") == [] and tree.one(cls="im2txt-empty")


def test_an_error_entry_shows_its_message_and_no_captions():
    result = ImageCaptions('<img src=x onerror="alert(1)">.jpg', error="<i>bad</i> & broken")
    tree = parse(result._repr_html_())
    assert tree.all("img") == [] and tree.all("i") == [] and tree.all("li") == []
    assert tree.one("figcaption").text == result.name
    assert tree.one(cls="im2txt-error").text == result.error
    assert str(result) == f"{result.name}\n  error: {result.error}"


def test_a_batch_is_counted_and_cut_after_max_shown():
    results = [ImageCaptions(f"{i}.png", (caption(seed=i),)) for i in range(3)]
    results.append(ImageCaptions("bad.png", error="bad.png: not an image"))
    tree = parse(batch_html(results, max_shown=2))
    assert [f.one("figcaption").text for f in tree.all("figure")] == ["0.png", "1.png"]
    assert "4 images, 1 error" in tree.text
    assert tree.one(cls="im2txt-more").text.startswith("2 more images not shown")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_captioner(write_tiny_bundle(tmp_path_factory.mktemp("display") / "tiny"))


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    """A 480x240 PNG: red on the left half, blue on the right."""
    pixels = np.zeros((240, 480, 3), np.uint8)
    pixels[:, :240, 0] = 255
    pixels[:, 240:, 2] = 255
    path = tmp_path_factory.mktemp("pictures") / "halves.png"
    Image.fromarray(pixels).save(path)
    return path


def test_a_batch_with_an_error_and_partial_captions(tiny, picture):
    # Two tokens at most (<S> and one word): captions stop before their end, unless </S> comes
    # first (an empty, complete caption).
    images = [picture, b"junk", picture.read_bytes()]
    results = tiny.caption_each(images, names=["halves.png", "junk.jpg", "copy.png"],
                                decode=DecodeConfig(beam_size=3, max_caption_length=2))  # fmt: skip
    assert isinstance(results, CaptionBatch) and isinstance(results, list)
    assert any(not c.complete for r in results for c in r.captions)
    assert results[1].error is not None
    tree = parse(results._repr_html_())
    figures = tree.all("figure")
    assert [f.one("figcaption").text for f in figures] == [r.name for r in results]
    for figure, result in zip(figures, results, strict=True):
        if result.error is not None:
            assert figure.one(cls="im2txt-error").text == result.error
            assert figure.all("li") == []
            continue
        for item, expected in zip(figure.all("li"), result.captions, strict=True):
            check_caption(item, expected)
    # Only the image given as a file has a picture to show.
    assert [len(f.all("img")) for f in figures] == [1, 0, 0]
    check_thumbnail(figures[0].one("img"))
    lines = str(results).splitlines()
    assert [line for line in lines if not line.startswith("  ")] == [r.name for r in results]
    assert sum(bool(re.match(r"  \d+\) ", line)) for line in lines) == sum(
        len(r.captions) for r in results
    )
    assert f"  error: {results[1].error}" in lines


def check_thumbnail(img: Node) -> None:
    """The thumbnail is the picture, upright, shrunk to THUMBNAIL_SIDE: red left, blue right."""
    uri = img.attrs["src"]
    assert uri.startswith("data:image/jpeg;base64,")
    thumbnail = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    assert thumbnail.shape == (THUMBNAIL_SIDE // 2, THUMBNAIL_SIDE, 3)
    left, right = thumbnail[:, : THUMBNAIL_SIDE // 3], thumbnail[:, -THUMBNAIL_SIDE // 3 :]
    assert left.mean(axis=(0, 1)) == pytest.approx([255, 0, 0], abs=12)
    assert right.mean(axis=(0, 1)) == pytest.approx([0, 0, 255], abs=12)


def test_a_moved_file_shows_why_there_is_no_picture(tiny, picture, tmp_path):
    moved = tmp_path / "moved.png"
    moved.write_bytes(picture.read_bytes())
    (result,) = tiny.caption_each([moved])
    assert result.path == moved.absolute()
    moved.unlink()
    tree = parse(result._repr_html_())
    assert tree.all("img") == []
    assert "file not found" in tree.one(cls="im2txt-no-picture").text
    assert len(tree.all("li")) == len(result.captions)


def test_the_batch_is_still_a_plain_list(tiny, picture):
    results = tiny.caption_each([picture, picture])
    assert results == list(results) and tuple(results) == (results[0], results[1])
    assert pickle.loads(pickle.dumps(results)) == results
    # A slice is shown as a grid too; one item is the item.
    assert isinstance(results[:1], CaptionBatch) and results[:1] == [results[0]]
    assert isinstance(results[-1], ImageCaptions)
    # The path is where the picture comes from, not part of the result's value.
    assert results[0] == ImageCaptions(results[0].name, results[0].captions)


def test_plain_text_is_what_ipython_prints():
    class Printer:  # IPython's pretty printer, as far as _repr_pretty_ uses it
        def __init__(self):
            self.written = []

        def text(self, text):
            self.written.append(text)

    batch = CaptionBatch([ImageCaptions("a.png", (caption(),)), ImageCaptions("b", error="b: x")])
    printer = Printer()
    batch._repr_pretty_(printer, cycle=False)
    assert printer.written == [str(batch)]
    assert re.fullmatch(r"a\.png\n  0\) a red circle \(p=\d\.\d{6}\)\nb\n  error: b: x", str(batch))
