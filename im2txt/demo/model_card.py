"""The demo model's model card: its name, what it knows, how it was trained and how it scores."""

from __future__ import annotations

import textwrap

from im2txt.demo import scenes
from im2txt.demo.values import COLOURS, SHAPES, Accuracy, DemoReport, TrainingConfig

DEMO_NAME = "im2txt demo (generated shapes)"
DEMO_DESCRIPTION = (
    "A small captioner trained only on generated scenes of one to three coloured shapes "
    "(circles, squares, triangles, stars) on light backgrounds: it describes every image, a real "
    "photo too, as such shapes. For real photos put the COCO checkpoint in model/coco/."
)


def training_command(seed: int, training: TrainingConfig, out: str = "") -> str:
    """The command line that trains with this seed and these settings (steps only differ)."""
    command = "python -m im2txt train-demo" + (f" --out {out}" if out else "")
    command += f" --seed {seed}"
    if training.steps != TrainingConfig.steps:
        command += f" --steps {training.steps}"
    return command


def model_card(report: DemoReport) -> str:
    """The README.md written beside the weights: what the model knows, how it was made, scores."""
    training, config = report.training, report.config
    evaluation = report.evaluation

    def paragraph(text: str) -> list[str]:
        return [*textwrap.wrap(text, 96, break_on_hyphens=False), ""]

    def bullets(*items: str) -> list[str]:
        lines = []
        for item in items:
            lines += textwrap.wrap(
                item, 96, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
            )
        return [*lines, ""]

    lines = [f"# {DEMO_NAME}", ""]
    lines += paragraph(
        "The small captioner that ships with im2txt so that the app, the command line and the "
        "tests run without the COCO model. It is the COCO model's decoder (image embedding, word "
        "embeddings, LSTM, softmax, the same beam search) behind a small convolutional encoder, "
        "trained on scenes the project generates (`im2txt/demo/scenes.py`)."
    )
    lines += ["## What it knows", ""]
    lines += paragraph(
        f"Scenes of one to three filled shapes ({', '.join(SHAPES)}) in six colours "
        f"({', '.join(COLOURS)}), small or large, on light plain, gradient or "
        "faintly textured backgrounds, at any size and aspect ratio. Its captions follow the "
        "scenes' "
        "grammar: `a small red circle .`, `two green triangles .`, `a small red circle to the "
        "left of a large blue square .`, `a blue square and two red circles .`. Relations: to "
        "the left of, to the right of, above, below. Counts: two and three."
    )
    lines += ["## What it does not know", ""]
    lines += paragraph(
        "Anything else. **It has never seen a photo**: every image, a cat or a rocket, gets a "
        "caption about coloured shapes. For real photos use the COCO model: put its checkpoint "
        "in `model/coco/` (see `model/README.md`) and it is used instead of this one."
    )
    command = training_command(report.seed, training, "im2txt/demo/model")
    lines += ["## How it was made", "", "```bash", command, "```", ""]
    minutes = f"{report.seconds / 60:.1f} minutes on a 2-core CPU machine"
    lines += bullets(
        f"Seed {report.seed}. The same command on the same machine gives the same weights "
        "(numpy generators seeded from the seed; TensorFlow op determinism on).",
        f"Data: {training.num_scenes:,} generated scenes, 1, 2 or 3 objects with odds "
        f"{' / '.join(f'{p:g}' for p in scenes.OBJECT_COUNT_WEIGHTS)}, rendered once, each with "
        "two or three reference captions; a training example is a scene and one of its "
        "captions drawn at random. Images go through the captioner's own preprocessing.",
        f"Encoder `small_cnn`: {len(config.encoder_filters)} convolutions (3x3, stride 2, "
        f"ReLU) of {', '.join(map(str, config.encoder_filters))} channels on the image "
        f"stretched to {config.image_width}x{config.image_height}, flattened. Decoder: "
        f"embeddings of {config.embedding_size}, an LSTM of {config.num_lstm_units} units, "
        f"{config.vocab_size} words. {report.parameters:,} weights in all.",
        f"Stage 1, {training.encoder_steps:,} steps: the encoder and the image embedding learn "
        "which (colour, shape, size) an image holds, through two classifier heads dropped "
        "afterwards (one on the feature map max-pooled over positions, one on the image "
        "embedding), as the original's Inception v3 came trained on ImageNet.",
        f"Stage 2, {training.steps:,} steps: the captions, by teacher forcing as in the "
        "original (the image embedding enters the LSTM first, then `<S>` and the words), "
        "masked cross-entropy, "
        + ("encoder frozen." if training.encoder_rate_scale == 0 else "encoder slowed down."),
        f"Adam, batches of {training.batch_size}, peak learning rates "
        f"{training.encoder_learning_rate:g} (stage 1) and {training.learning_rate:g} (stage 2), "
        f"{training.warmup_steps}-step warm-up, cosine decay; gradients clipped to a global "
        f"norm of {training.clip_gradients:g}.",
        f"{minutes} ({report.train_seconds / 60:.1f} of them training).",
        f"Weights stored as {training.dtype}"
        + (f"; {report.size_bytes / 1e6:.2f} MB in all." if report.size_bytes else "."),
    )
    if evaluation is not None:
        per = training.eval_scenes_per_count
        lines += ["## Held-out scores", ""]
        lines += paragraph(
            f"{per} generated scenes of each object count, from a seed stream training never "
            "uses (`im2txt.demo.evaluation.held_out_scenes`), captioned with beam size 3; the top "
            "caption is scored."
        )
        lines += [
            "| measure | score |",
            "| --- | --- |",
            f"| one object: its colour and shape, nothing else | "
            f"{_percent(evaluation.one_object)} |",
            f"| two objects: both named (colour and shape), nothing else | "
            f"{_percent(evaluation.two_object)} |",
            f"| three objects: all named, nothing else | {_percent(evaluation.three_object)} |",
            f"| relation right, of the top captions that state one (two different objects) | "
            f"{_percent(evaluation.relation)} |",
            f"| corpus BLEU-4 against the reference captions (no smoothing) | "
            f"{evaluation.bleu.score:.3f} |",
            "",
            "Evaluate again with `pytest tests/demo/test_demo_model.py -s -k held_out` (200 scenes "
            "of each count), or:",
            "",
            "```python",
            "import im2txt",
            "from im2txt.demo.evaluation import evaluate, held_out_scenes",
            "",
            f"scenes = [s for n in (1, 2, 3) for s in held_out_scenes({per}, n)]",
            'print(evaluate(im2txt.load_captioner("im2txt/demo/model"), scenes))',
            "```",
            "",
        ]
    return "\n".join(lines)


def _percent(accuracy: Accuracy) -> str:
    return f"{100 * accuracy.rate:.1f} % ({accuracy.correct} / {accuracy.total})"
