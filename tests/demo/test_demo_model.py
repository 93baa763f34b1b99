"""The demo model: BLEU, scoring captions, the shipped demo model, its training, the samples."""

from __future__ import annotations

import ast
import importlib
import math
import re
import shlex
import shutil
from collections import Counter

import numpy as np
import pytest

import im2txt
from fixtures.paths import REPO
from im2txt.config import ModelConfig
from im2txt.demo import evaluation as scene_eval
from im2txt.demo import training as demo_training
from im2txt.demo.bleu import corpus_bleu
from im2txt.demo.evaluation import evaluate, held_out_scenes, named_objects, stated_relation
from im2txt.demo.scenes import SceneObject, random_scene
from im2txt.demo.training import DEMO_DESCRIPTION, DEMO_NAME, TrainingConfig
from im2txt.demo.training_data import TRAIN_STREAM
from im2txt.storage import bundle

DEMO = REPO / "im2txt" / "demo" / "model"
SAMPLES = REPO / "sample_images"
# The shipped demo model scores 1.000 (one object), 0.965 (two) and BLEU-4 0.842 on these
# 3 x 200 held-out scenes; the floors are the targets, and BLEU-4 less a margin.
HELD_OUT_PER_COUNT = 200
MIN_ONE_OBJECT = 0.95
MIN_TWO_OBJECT = 0.80
MIN_BLEU4 = 0.75


# --- BLEU ----------------------------------------------------------------------------------------


def _bleu(candidate: str, references: list[str], max_n: int = 4):
    return corpus_bleu([candidate.split()], [[r.split() for r in references]], max_n)


def test_bleu_of_an_exact_match_is_one():
    result = _bleu("a small red circle .", ["a small red circle .", "a red circle ."])
    assert result.score == 1.0
    assert result.precisions == (1.0, 1.0, 1.0, 1.0)
    assert result.brevity_penalty == 1.0


def test_bleu_clips_counts_to_the_most_in_any_one_reference():
    # Papineni et al.'s example: "the" occurs at most twice in a reference, so p1 = 2 / 7.
    result = _bleu(
        "the the the the the the the", ["the cat is on the mat", "there is a cat on the mat"], 1
    )
    assert result.precisions == (2 / 7,)
    assert result.brevity_penalty == 1.0  # 7 tokens, longer than the closest reference (6)
    assert result.score == pytest.approx(2 / 7)
    # The clip is the largest count in one reference, not the sum over references.
    assert _bleu("x x x", ["x y x", "x"], 1).precisions == (2 / 3,)


def test_bleu_brevity_penalty_and_no_smoothing():
    # Candidate of 4 tokens; references of 5 and 7: the closest (5) is r, BP = exp(1 - 5 / 4).
    # p1 = 4/4, p2 = 3/3 ("a red" is in the second reference), p3 = 2/2, p4 = 0/1.
    refs = ["a small red circle .", "a red circle to the left ."]
    result = _bleu("a red circle .", refs)
    assert result.precisions == (1.0, 1.0, 1.0, 0.0)
    assert result.brevity_penalty == pytest.approx(math.exp(1 - 5 / 4))
    assert (result.candidate_length, result.reference_length) == (4, 5)
    assert result.score == 0.0  # no smoothing: one empty precision zeroes BLEU-4
    assert _bleu("a red circle .", refs, 3).score == pytest.approx(math.exp(1 - 5 / 4))


def test_bleu_closest_reference_length_prefers_the_shorter_on_a_tie():
    # 5 tokens, references of 4 and 6: r = 4, so the candidate is longer and BP = 1.
    result = _bleu("a b c d e", ["a b c d", "a b c d e f"], 1)
    assert result.reference_length == 4
    assert result.brevity_penalty == 1.0


def test_bleu_sums_counts_over_the_corpus():
    # Sentence p1 are 1 and 1/2, but corpus p1 = (4 + 1) / (4 + 2), not their mean.
    result = corpus_bleu(
        [["a", "b", "c", "d"], ["x", "y"]], [[["a", "b", "c", "d"]], [["x", "z"]]], 1
    )
    assert result.precisions == (5 / 6,)
    assert result.score == pytest.approx(5 / 6)
    # p2 = (3 + 0) / (3 + 1); BLEU-2 = sqrt(p1 * p2).
    two = corpus_bleu([["a", "b", "c", "d"], ["x", "y"]], [[["a", "b", "c", "d"]], [["x", "z"]]], 2)
    assert two.score == pytest.approx(math.sqrt(5 / 6 * 3 / 4))


def test_bleu_edge_cases():
    assert _bleu("", ["a red circle ."]).score == 0.0
    with pytest.raises(ValueError):
        corpus_bleu([["a"]], [])
    with pytest.raises(ValueError):
        corpus_bleu([["a"]], [[]])


# --- reading captions ----------------------------------------------------------------------------


def test_named_objects_counts_every_colour_shape_phrase():
    assert named_objects("a small red circle .") == Counter({("red", "circle"): 1})
    assert named_objects("two green triangles .") == Counter({("green", "triangle"): 2})
    assert named_objects("a red circle , a blue square and a small red circle .") == Counter(
        {("red", "circle"): 2, ("blue", "square"): 1}
    )
    assert named_objects("three purple stars .") == Counter({("purple", "star"): 3})
    assert named_objects("a green triangle below another green triangle .") == Counter(
        {("green", "triangle"): 2}
    )
    assert named_objects("a red .") == Counter()


def test_stated_relation():
    assert stated_relation("a small red circle to the left of a large blue square .") == (
        ("red", "circle"),
        "left",
        ("blue", "square"),
    )
    assert stated_relation("a blue square below another blue square .") == (
        ("blue", "square"),
        "below",
        ("blue", "square"),
    )
    assert stated_relation("a red circle and a blue square .") is None
    assert stated_relation("two red circles above .") is None


class _FixedCaptioner:
    """Stands in for a Captioner: the same caption text for scene i."""

    def __init__(self, texts):
        self.texts = texts

    def caption_many(self, images, *, decode=None, progress=None):
        return [[_Text(text)] for text in self.texts[: len(images)]]


class _Text:
    def __init__(self, text):
        self.text = text


def test_evaluate_scores_each_object_count_and_relation():
    rng = np.random.default_rng(0)
    one = random_scene(rng, 1)
    two = random_scene(rng, 2)
    while two.objects[0].colour == two.objects[1].colour:
        two = random_scene(rng, 2)
    a, b = two.objects
    wrong_colour = next(c for c in ("red", "blue", "green") if c != one.objects[0].colour)
    texts = [
        f"a {one.objects[0].colour} {one.objects[0].shape} .",
        f"a {a.colour} {a.shape} {'above' if two.relation == 'left' else 'to the left of'} "
        f"a {b.colour} {b.shape} .",
        f"a {wrong_colour} {one.objects[0].shape} .",
        two.captions[0],
    ]
    report = evaluate(_FixedCaptioner(texts), [one, two, one, two])
    assert (report.one_object.correct, report.one_object.total) == (1, 2)
    assert (report.two_object.correct, report.two_object.total) == (2, 2)
    assert (report.relation.correct, report.relation.total) == (1, 2)
    assert report.three_object.total == 0 and math.isnan(report.three_object.rate)
    assert 0.0 < report.bleu.score < 1.0


def test_held_out_scenes_are_not_training_scenes():
    held_out = held_out_scenes(5, 2)
    assert [len(s.objects) for s in held_out] == [2] * 5
    assert held_out_scenes(5, 2)[3].captions == held_out[3].captions
    # Training with seed HELD_OUT_SEED draws from this stream: none of its scenes is held out.
    stream = np.random.SeedSequence((scene_eval.HELD_OUT_SEED, TRAIN_STREAM))
    train_rng = np.random.default_rng(stream)
    trained = [random_scene(train_rng) for _ in range(50)]
    images = {s.image.tobytes() for s in trained}
    assert not any(s.image.tobytes() in images for s in held_out_scenes(50))


# --- the shipped model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_captioner():
    return im2txt.load_captioner(DEMO)


def test_demo_model_says_what_it_is(demo_captioner):
    info = demo_captioner.info
    assert (info.name, info.kind, info.description) == (DEMO_NAME, "demo", DEMO_DESCRIPTION)
    assert "generated" in info.description and "COCO" in info.description
    assert info.origin.startswith("trained by `python -m im2txt train-demo --seed 0`")
    assert info.vocab_size == len(demo_training.demo_words()) + 1  # + <UNK>
    assert demo_captioner.config == demo_training.DEMO_CONFIG


def test_demo_model_is_small():
    files = sorted(p.name for p in DEMO.iterdir())
    assert files == ["README.md", "config.json", "weights.npz", "word_counts.txt"]
    assert sum(p.stat().st_size for p in DEMO.iterdir()) <= 5 * 1024 * 1024


@pytest.mark.slow
def test_demo_model_held_out_scores(demo_captioner):
    scene_list = [s for n in (1, 2, 3) for s in held_out_scenes(HELD_OUT_PER_COUNT, n)]
    report = evaluate(demo_captioner, scene_list)
    print(
        f"\nheld-out: one object {report.one_object.rate:.3f}, "
        f"two objects {report.two_object.rate:.3f}, "
        f"three objects {report.three_object.rate:.3f}, "
        f"relation {report.relation.rate:.3f} ({report.relation.total} stated), "
        f"BLEU-4 {report.bleu.score:.3f}"
    )
    assert report.one_object.rate >= MIN_ONE_OBJECT
    assert report.two_object.rate >= MIN_TWO_OBJECT
    assert report.bleu.score >= MIN_BLEU4


def test_default_lookup_finds_the_demo_model(tmp_path, monkeypatch, demo_captioner):
    shutil.copytree(DEMO, tmp_path / "demo")
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(tmp_path))
    captioner = im2txt.load_captioner()
    assert captioner.info.kind == "demo"
    assert captioner.info.description == DEMO_DESCRIPTION
    scene_list = held_out_scenes(8)
    images = [s.image for s in scene_list]
    texts = [c[0].text for c in captioner.caption_many(images)]
    assert texts == [c[0].text for c in demo_captioner.caption_many(images)]


def test_demo_model_captions_a_hand_made_scene(demo_captioner):
    from im2txt.demo.scenes import Background, render_scene

    background = Background("plain", (205, 205, 205), (205, 205, 205))
    circle = SceneObject("circle", "red", "large", (60.0, 80.0), 22.0)
    square = SceneObject("square", "blue", "large", (180.0, 80.0), 27.0)
    image = render_scene([circle, square], background, (240, 160))
    (best, *_) = demo_captioner.caption(image)
    assert named_objects(best.text) == Counter({("red", "circle"): 1, ("blue", "square"): 1})


# --- training ------------------------------------------------------------------------------------

_TINY = TrainingConfig(
    num_scenes=40,
    batch_size=8,
    encoder_steps=20,
    steps=30,
    warmup_steps=5,
    eval_scenes_per_count=0,
)
_TINY_MODEL = ModelConfig(
    encoder="small_cnn",
    resize_height=32,
    resize_width=32,
    image_height=32,
    image_width=32,
    encoder_filters=(4, 8),
    embedding_size=16,
    num_lstm_units=16,
    vocab_size=demo_training.DEMO_CONFIG.vocab_size,
)


def _tiny_weights(folder, seed):
    report = demo_training.train_demo(folder, seed=seed, training=_TINY, config=_TINY_MODEL)
    assert report.final_loss == report.final_loss  # not NaN
    _, weights, _ = bundle.read_bundle(folder)
    return weights, report


@pytest.mark.slow
def test_training_is_deterministic(tmp_path):
    from tensorflow.python.framework import config as tf_config

    assert not tf_config.is_op_determinism_enabled()
    first, report = _tiny_weights(tmp_path / "a", seed=0)
    # Switched on for training only: left on, unseeded random ops elsewhere would raise.
    assert not tf_config.is_op_determinism_enabled()
    again, _ = _tiny_weights(tmp_path / "b", seed=0)
    other, _ = _tiny_weights(tmp_path / "c", seed=1)
    assert sorted(first) == sorted(again) == sorted(other)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name], err_msg=name)
    assert any(not np.array_equal(first[name], other[name]) for name in first)
    # The result is an ordinary bundle that says what it is.
    captioner = im2txt.load_captioner(tmp_path / "a")
    assert captioner.info.kind == "demo"
    assert (tmp_path / "a" / "README.md").read_text().startswith("# ")
    assert report.files == ("README.md", "config.json", "weights.npz", "word_counts.txt")
    words = (tmp_path / "a" / "word_counts.txt").read_text().split("\n")
    assert [line.split()[0] for line in words] == demo_training.demo_words()
    assert int(words[0].split()[1]) >= _TINY.num_scenes * 2  # <S>: once per reference caption


# --- sample images -------------------------------------------------------------------------------


def test_sample_images_are_documented_and_small():
    readme = (SAMPLES / "README.md").read_text()
    files = sorted(p.name for p in SAMPLES.iterdir() if p.name != "README.md")
    assert len([f for f in files if f.endswith(".jpg")]) >= 3
    assert len([f for f in files if f.endswith(".png")]) >= 3
    assert "shapes.mp4" in files
    for name in files:
        assert f"`{name}`" in readme, name
        limit = 1024 * 1024 if name.endswith(".mp4") else 150 * 1024
        assert (SAMPLES / name).stat().st_size <= limit, name


def test_caption_command_uses_the_demo_model_by_default(tmp_path, monkeypatch, capsys):
    from im2txt import cli

    shutil.copytree(DEMO, tmp_path / "demo")
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(tmp_path))
    assert cli.main(["caption", str(SAMPLES)]) == 0
    out, err = capsys.readouterr()
    assert f"Model: {DEMO_NAME}" in err and "only knows generated shapes" in err
    images = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png"))
    assert [line for line in out.splitlines() if line.startswith("Captions for image")] == [
        f"Captions for image {name}:" for name in images
    ]
    assert "  0) " in out


# --- the shipped model's README ------------------------------------------------------------------


def _code_blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", markdown, re.DOTALL | re.MULTILINE)


def test_the_shipped_readme_code_imports_what_exists():
    """Every name the README's Python block imports exists (the block once imported a module
    that no longer did); the next test runs the block."""
    (code,) = _code_blocks((DEMO / "README.md").read_text(), "python")
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            assert [a.name for a in node.names if not hasattr(module, a.name)] == []


@pytest.mark.slow
def test_the_shipped_readme_code_runs_as_written_and_gives_its_scores(monkeypatch, capsys):
    """The README's Python block, run from the checkout's root as a reader would, prints the
    scores its table states (the issue: it once imported a module that no longer existed)."""
    readme = (DEMO / "README.md").read_text()
    (code,) = _code_blocks(readme, "python")
    monkeypatch.chdir(REPO)
    exec(compile(code, str(DEMO / "README.md"), "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    table = re.findall(r"\((\d+) / (\d+)\) \|$", readme, re.MULTILINE)
    accuracies = re.findall(r"Accuracy\(correct=(\d+), total=(\d+)\)", printed)
    assert accuracies == table and len(table) == 4  # one, two, three objects; relation
    (bleu,) = re.findall(r"BLEU-4 .* \| (\d\.\d{3}) \|$", readme, re.MULTILINE)
    (score,) = re.findall(r"Bleu\(score=([\d.]+)", printed)
    assert f"{float(score):.3f}" == bleu


def test_the_shipped_readme_commands_are_the_command_lines():
    """Its training command is one the command line takes; its pytest command names a test file
    and tests that exist."""
    from im2txt.cli import build_parser, train_demo

    readme = (DEMO / "README.md").read_text()
    (command,) = _code_blocks(readme, "bash")
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "im2txt"]
    arguments = build_parser().parse_args(words[3:])
    assert (arguments.run, arguments.seed) == (train_demo.run, 0)
    assert REPO / arguments.out == DEMO  # the command writes the shipped model's folder
    (pytest_command,) = re.findall(r"`(pytest [^`]+)`", readme)
    test_file, selected = re.fullmatch(r"pytest (\S+) -s -k (\w+)", pytest_command).groups()
    assert (REPO / test_file).is_file(), test_file
    source = (REPO / test_file).read_text()
    assert re.search(rf"^def test_\w*{selected}\w*\(", source, re.MULTILINE)
