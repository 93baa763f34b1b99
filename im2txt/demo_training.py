"""Training the demo model on generated scenes (its scores on held-out ones: scene_eval).

The demo model is the COCO model's decoder (image_embedding, seq_embedding, LSTM, logits, the
same beam search) behind a small convolutional encoder ("small_cnn"), trained here on
scenes.random_scene in two stages, as the original's Inception v3 came trained on ImageNet:

1. The encoder learns which coloured shapes an image holds, through two classifier heads that
   are dropped afterwards: one on its feature map max-pooled over positions, one on the image
   embedding.
2. The captions, by teacher forcing as in the original im2txt: the image embedding goes through
   the LSTM first (output discarded), then <S> w1 ... wn predicts w1 ... wn </S>; a masked
   cross-entropy, gradients clipped by global norm, the encoder frozen.

The maths is model.py's (small_cnn_features, lstm_cell) over trainable variables named as in
model.weight_shapes, so the result is an ordinary bundle, written with its model card.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from im2txt import bundle, scenes
from im2txt.config import ModelConfig, ModelInfo
from im2txt.image_processing import preprocess
from im2txt.scene_eval import Accuracy, EvalReport, evaluate, held_out_scenes
from im2txt.vocabulary import END_WORD, START_WORD, Vocabulary

if TYPE_CHECKING:
    pass

DEMO_NAME = "im2txt demo (generated shapes)"
DEMO_DESCRIPTION = (
    "A small captioner trained only on generated scenes of one to three coloured shapes "
    "(circles, squares, triangles, stars) on light backgrounds: it describes every image, a real "
    "photo too, as such shapes. For real photos put the COCO checkpoint in model/coco/."
)
# Training scenes come from SeedSequence((seed, 0)); scene_eval's held-out ones from another stream.
_TRAIN_STREAM = 0


def demo_words() -> list[str]:
    """The demo vocabulary in id order: <S>, </S>, then every word of the caption grammar."""
    return [START_WORD, END_WORD, *scenes.caption_vocabulary()]


# 128x128 keeps a small shape in a 16:9 scene >= 8 pixels wide after the stretch to a square;
# four stride-2 convs leave 8x8x128 = 8192 features, flattened so that position survives.
# 1,553,346 weights: 6.2 MB as float32, 3.1 MB as the float16 the bundle stores.
DEMO_CONFIG = ModelConfig(
    encoder="small_cnn",
    resize_height=128,
    resize_width=128,
    image_height=128,
    image_width=128,
    encoder_filters=(16, 32, 64, 128),
    embedding_size=128,
    num_lstm_units=256,
    vocab_size=len(demo_words()) + 1,  # + <UNK>, which Vocabulary appends
)


@dataclass(frozen=True)
class TrainingConfig:
    """How the demo model is trained; the defaults made the shipped model/demo."""

    # Training scenes, rendered and preprocessed once up front; each step samples batch_size of
    # them, and for each one of its reference captions.
    num_scenes: int = 24000
    batch_size: int = 64
    # Stage 1, the encoder: Adam steps on "which (colour, shape, size) are in the image".
    encoder_steps: int = 3000
    encoder_learning_rate: float = 3e-3
    # Stage 2, the captions: Adam steps of teacher forcing.
    steps: int = 6000
    learning_rate: float = 2e-3
    # Each stage warms its learning rate up linearly, then decays it along a cosine to this
    # fraction of its peak at its last step.
    warmup_steps: int = 100
    final_learning_rate_fraction: float = 0.05
    # Stage 2's step for the encoder's convolutions relative to the others; 0 freezes them.
    encoder_rate_scale: float = 0.0
    # Adam moves every weight by about the learning rate per step whatever its gradient, and the
    # image embedding sums thousands of features: at the full rate its output grows until the
    # LSTM's gates saturate and the image stops mattering.
    image_embedding_rate_scale: float = 0.1
    # Stage 1's step for the image embedding's per-position part relative to its shared part
    # (see _Network): small, so that what can be learnt once for every position is.
    positional_rate_scale: float = 0.1
    # Global-norm gradient clipping, as the original's optimizer.clip_gradients = 5.0.
    clip_gradients: float = 5.0
    # Held-out scenes per object count (1, 2 and 3) scored at the end; 0 skips the evaluation.
    eval_scenes_per_count: int = 300
    # Weights are stored as float16 (the loader converts back): half the size, same captions.
    dtype: str = "float16"
    # Progress is reported every this many steps.
    report_every: int = 10


@dataclass(frozen=True)
class Progress:
    """One progress report of train_demo, for a progress bar."""

    # "scenes" (rendering the training scenes), "encoder" (stage 1), "captions" (stage 2) or
    # "evaluating" (the held-out scenes).
    stage: str
    done: int
    total: int
    # Training stages: the mean loss over the steps since the last report.
    loss: float | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class DemoReport:
    """What train_demo made and how well it does."""

    out: Path
    seed: int
    training: TrainingConfig
    config: ModelConfig
    parameters: int
    # Mean training loss over the last report_every steps.
    final_loss: float
    # Wall-clock seconds: rendering the scenes, training, evaluation.
    seconds: float
    train_seconds: float
    evaluation: EvalReport | None
    # Bytes of the files in `out` (weights, vocabulary, config, model card).
    size_bytes: int = 0
    files: tuple[str, ...] = field(default=())


# --- scenes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dataset:
    images: np.ndarray  # [num_scenes, image_height, image_width, 3] float16, preprocessed
    captions: np.ndarray  # [num_scenes, max_references, max_words + 2] int32: <S> w1 .. wn </S>
    lengths: np.ndarray  # [num_scenes, max_references] tokens incl. <S> and </S>; 0 = no caption
    references: np.ndarray  # [num_scenes] reference captions of each scene
    labels: np.ndarray  # [num_scenes, NUM_LABELS] uint8, object_labels of each scene
    word_counts: Counter


def _training_scenes(
    seed: int,
    count: int,
    config: ModelConfig,
    vocab: Vocabulary,
    progress: ProgressCallback | None,
) -> _Dataset:
    rng = np.random.default_rng(np.random.SeedSequence((seed, _TRAIN_STREAM)))
    images = np.empty((count, config.image_height, config.image_width, 3), np.float16)
    labels = np.zeros((count, NUM_LABELS), np.uint8)
    tokenised: list[list[list[int]]] = []
    counts: Counter = Counter()
    for i in range(count):
        scene = scenes.random_scene(rng)
        # The captioner's own preprocessing; float16 keeps 24k scenes in ~2.4 GB (error < 1e-3).
        images[i] = preprocess(scene.image, config)
        labels[i] = object_labels(scene.objects)
        refs = []
        for caption in scene.captions:
            words = [START_WORD, *caption.split(" "), END_WORD]
            counts.update(words)
            refs.append([vocab.word_to_id(w) for w in words])
        tokenised.append(refs)
        if progress and ((i + 1) % 500 == 0 or i + 1 == count):
            progress(Progress("scenes", i + 1, count))
    max_refs = max(len(refs) for refs in tokenised)
    max_tokens = max(len(ids) for refs in tokenised for ids in refs)
    captions = np.zeros((count, max_refs, max_tokens), np.int32)
    lengths = np.zeros((count, max_refs), np.int32)
    for i, refs in enumerate(tokenised):
        for j, ids in enumerate(refs):
            captions[i, j, : len(ids)] = ids
            lengths[i, j] = len(ids)
    references = np.array([len(refs) for refs in tokenised], np.int32)
    return _Dataset(images, captions, lengths, references, labels, counts)


# --- training ------------------------------------------------------------------------------------


def initial_weights(config: ModelConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Starting weights by checkpoint name: He-normal convs, Glorot-uniform matrices, zero biases,
    and the original's uniform(-0.08, 0.08) for the word embeddings."""
    from im2txt.model import SMALL_CNN_SCOPE, weight_shapes

    weights = {}
    for name, shape in weight_shapes(config).items():
        if name.endswith(("biases", "bias")):
            value = np.zeros(shape)
        elif name.startswith(SMALL_CNN_SCOPE):
            value = rng.normal(0.0, math.sqrt(2.0 / np.prod(shape[:3])), shape)
        elif name == "seq_embedding/map":
            value = rng.uniform(-0.08, 0.08, shape)
        else:
            value = _glorot(rng, shape)
        weights[name] = value.astype(np.float32)
    return weights


def _glorot(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    limit = math.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, shape)


def object_labels(objects: Sequence[scenes.SceneObject]) -> np.ndarray:
    """[NUM_LABELS] 0/1: which (colour, shape, size) the scene holds, for the encoder's stage."""
    labels = np.zeros(NUM_LABELS, np.float32)
    for obj in objects:
        labels[_label(obj.colour, obj.shape, obj.size)] = 1.0
    return labels


NUM_LABELS = len(scenes.COLOURS) * len(scenes.SHAPES) * len(scenes.SIZES)


def _label(colour: str, shape: str, size: str) -> int:
    c, s = list(scenes.COLOURS).index(colour), scenes.SHAPES.index(shape)
    return (c * len(scenes.SHAPES) + s) * len(scenes.SIZES) + scenes.SIZES.index(size)


class _Network:
    """The model's weights as trainable variables under their checkpoint names, the encoder
    stage's two classifier heads (not exported), and the two stages' losses."""

    def __init__(
        self, config: ModelConfig, weights: dict[str, np.ndarray], rng: np.random.Generator
    ) -> None:
        import tensorflow as tf

        from im2txt.model import SMALL_CNN_SCOPE, small_cnn_output_size

        self.config = config
        self.model_names = sorted(weights)
        channels = small_cnn_output_size(config)[2]
        pooled_labels = len(scenes.COLOURS) + len(scenes.SHAPES) * (1 + len(scenes.SIZES))
        head = {
            _HEAD_WEIGHTS: _glorot(rng, (channels, pooled_labels)).astype(np.float32),
            _HEAD_BIASES: np.zeros(pooled_labels, np.float32),
            _EMBEDDING_HEAD_WEIGHTS: _glorot(rng, (config.embedding_size, NUM_LABELS)).astype(
                np.float32
            ),
            _EMBEDDING_HEAD_BIASES: np.zeros(NUM_LABELS, np.float32),
        }
        # image_embedding/weights [h * w * channels, E] is trained as shared + positional: one
        # [channels, E] map applied at every position of the flattened map (so that it learns
        # from every object wherever it is), plus a per-position part, starting at 0, for what
        # depends on where. Exported as their sum: the model's maths are unchanged.
        self.positions = int(np.prod(small_cnn_output_size(config)[:2]))
        trained = {n: w for n, w in weights.items() if n != _IMAGE_EMBEDDING}
        trained[_SHARED_EMBEDDING] = (
            _glorot(rng, (channels, config.embedding_size)) / self.positions
        ).astype(np.float32)
        trained[_POSITIONAL_EMBEDDING] = np.zeros_like(weights[_IMAGE_EMBEDDING])
        self.variables = {
            name: tf.Variable(value, name=name.replace("/", "_"))
            for name, value in sorted({**trained, **head}.items())
        }
        self.encoder_names = [n for n in self.model_names if n.startswith(SMALL_CNN_SCOPE)]
        self.embedding_names = [_SHARED_EMBEDDING, _POSITIONAL_EMBEDDING]
        self.decoder_names = [
            n for n in self.model_names if n not in self.encoder_names and n != _IMAGE_EMBEDDING
        ]

    def weights(self) -> dict[str, np.ndarray]:
        """The model's weights under their checkpoint names (the heads left out)."""
        weights = {
            name: self.variables[name].numpy()
            for name in self.model_names
            if name != _IMAGE_EMBEDDING
        }
        weights[_IMAGE_EMBEDDING] = self.image_embedding().numpy()
        return weights

    def image_embedding(self):
        """[h * w * channels, embedding_size]: shared map tiled over positions + positional."""
        import tensorflow as tf

        shared = self.variables[_SHARED_EMBEDDING]
        return tf.tile(shared, [self.positions, 1]) + self.variables[_POSITIONAL_EMBEDDING]

    def features(self, images):
        """[batch, h, w, 3] -> [batch, image features], model.small_cnn_features."""
        from im2txt.model import SMALL_CNN_SCOPE, small_cnn_features

        v = self.variables
        convs = [
            (v[f"{SMALL_CNN_SCOPE}/Conv{i}/weights"], v[f"{SMALL_CNN_SCOPE}/Conv{i}/biases"])
            for i in range(len(self.config.encoder_filters))
        ]
        return small_cnn_features(images, convs)

    def encoder_loss(self, images, labels):
        """Which (colour, shape, size) are in the images; labels [batch, NUM_LABELS].

        Two sigmoid cross-entropies: the feature map max-pooled over positions answers which
        colours, which shapes and which shapes in which size are there; the image embedding
        answers the joint labels.
        """
        import tensorflow as tf

        from im2txt.model import small_cnn_output_size

        v = self.variables
        height, width, channels = small_cnn_output_size(self.config)
        features = self.features(images)
        grid = tf.reshape(features, [-1, height, width, channels])
        pooled = tf.reduce_max(grid, axis=[1, 2])  # [batch, channels]
        logits = tf.matmul(pooled, v[_HEAD_WEIGHTS]) + v[_HEAD_BIASES]
        joint = tf.reshape(labels, [-1, len(scenes.COLOURS), len(scenes.SHAPES), len(scenes.SIZES)])
        factored = tf.concat(
            [
                tf.reduce_max(joint, axis=[2, 3]),
                tf.reduce_max(joint, axis=[1, 3]),
                tf.reshape(
                    tf.reduce_max(joint, axis=1), [-1, len(scenes.SHAPES) * len(scenes.SIZES)]
                ),
            ],
            axis=1,
        )
        embedding = tf.matmul(features, self.image_embedding())
        from_embedding = (
            tf.matmul(embedding, v[_EMBEDDING_HEAD_WEIGHTS]) + v[_EMBEDDING_HEAD_BIASES]
        )
        return tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(factored, logits)
        ) + tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, from_embedding))

    def caption_loss(self, images, inputs, targets, mask):
        """Teacher forcing as in the original: the image embedding through the LSTM first (output
        discarded), then inputs [batch, time] predicting targets [batch, time]; the mean
        cross-entropy over the words where mask [batch, time] is 1."""
        import tensorflow as tf

        from im2txt.model import LSTM_BIAS, LSTM_KERNEL, lstm_cell

        v = self.variables
        forget_bias = self.config.forget_bias
        kernel, bias = v[LSTM_KERNEL], v[LSTM_BIAS]
        image_embedding = tf.matmul(self.features(images), self.image_embedding())
        zeros = tf.zeros([tf.shape(images)[0], self.config.num_lstm_units])
        c, h = lstm_cell(image_embedding, zeros, zeros, kernel, bias, forget_bias)
        words = tf.gather(v["seq_embedding/map"], inputs)  # [batch, time, embedding_size]
        outputs = []
        for t in range(inputs.shape[1]):
            c, h = lstm_cell(words[:, t], c, h, kernel, bias, forget_bias)
            outputs.append(h)
        hidden = tf.stack(outputs, axis=1)  # [batch, time, num_lstm_units]
        logits = tf.einsum("btu,uv->btv", hidden, v["logits/weights"]) + v["logits/biases"]
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
        return tf.reduce_sum(losses * mask) / tf.reduce_sum(mask)


_IMAGE_EMBEDDING = "image_embedding/weights"
_SHARED_EMBEDDING = "image_embedding/shared"
_POSITIONAL_EMBEDDING = "image_embedding/positional"
_HEAD_WEIGHTS = "encoder_head/weights"
_HEAD_BIASES = "encoder_head/biases"
_EMBEDDING_HEAD_WEIGHTS = "embedding_head/weights"
_EMBEDDING_HEAD_BIASES = "embedding_head/biases"


class _Adam:
    """Adam (Kingma & Ba) over a list of variables, after global-norm gradient clipping; each
    variable's step may be scaled."""

    def __init__(self, variables: list, clip: float, scales: list[float]) -> None:
        import tensorflow as tf

        self.variables = variables
        self.clip = clip
        self.scales = scales
        self.m = [tf.Variable(tf.zeros_like(v)) for v in variables]
        self.v = [tf.Variable(tf.zeros_like(v)) for v in variables]
        self.step = tf.Variable(0.0)

    def minimize(self, loss_fn, learning_rate):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn()
        gradients = [tf.convert_to_tensor(g) for g in tape.gradient(loss, self.variables)]
        gradients, _ = tf.clip_by_global_norm(gradients, self.clip)
        beta1, beta2, epsilon = 0.9, 0.999, 1e-8
        self.step.assign_add(1.0)
        # Bias correction folded into the step size, as in the paper's section 2.
        step_size = learning_rate * tf.sqrt(1.0 - beta2**self.step) / (1.0 - beta1**self.step)
        for variable, g, m, v, scale in zip(
            self.variables, gradients, self.m, self.v, self.scales, strict=True
        ):
            m.assign(beta1 * m + (1.0 - beta1) * g)
            v.assign(beta2 * v + (1.0 - beta2) * tf.square(g))
            variable.assign_sub(scale * step_size * m / (tf.sqrt(v) + epsilon))
        return loss


def learning_rate_at(step: int, steps: int, peak: float, final: float, warmup: int) -> float:
    """Linear warm-up to `peak` over `warmup` steps, then a cosine down to `final` at `steps`."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(steps - warmup, 1)
    return final + 0.5 * (peak - final) * (1.0 + math.cos(math.pi * progress))


def train_demo(
    out: str | Path,
    seed: int = 0,
    steps: int | None = None,
    progress: ProgressCallback | None = None,
    training: TrainingConfig = TrainingConfig(),
    config: ModelConfig = DEMO_CONFIG,
) -> DemoReport:
    """Train the demo captioner and write it as a bundle in `out`, with its model card.

    Two stages (see the module docstring): the encoder and image embedding learn which coloured
    shapes an image holds, then the decoder learns the captions with the encoder frozen.
    `progress` is called every training.report_every steps of each stage, and while scenes are
    rendered and scored; the library never prints.

    Deterministic: the same seed, settings and machine give the same weights (the scenes, the
    initial weights and the batches come from numpy generators seeded from `seed`, and TensorFlow
    op determinism is on while training). `steps` overrides training.steps.
    """

    from im2txt.model import count_parameters

    started = time.perf_counter()
    if steps is not None:
        training = dataclasses.replace(training, steps=steps)
    vocab = Vocabulary(demo_words())
    if len(vocab) > config.vocab_size:
        raise ValueError(f"vocab_size {config.vocab_size} < {len(vocab)} words")

    data = _training_scenes(seed, training.num_scenes, config, vocab, progress)
    rng = np.random.default_rng(np.random.SeedSequence((seed, _TRAIN_STREAM, 1)))
    net = _Network(config, initial_weights(config, rng), rng)

    train_started = time.perf_counter()
    with _op_determinism():
        final_loss = _train(net, data, rng, training, progress)
    train_seconds = time.perf_counter() - train_started

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    vocab_path = out / bundle.VOCAB_FILE
    vocab.write(vocab_path, [data.word_counts.get(word, 0) for word in vocab.words[:-1]])
    info = ModelInfo(
        name=DEMO_NAME,
        kind="demo",
        origin=f"trained by `{training_command(seed, training)}`",
        vocab_size=len(vocab),
        description=DEMO_DESCRIPTION,
    )
    bundle.write_bundle(out, config, net.weights(), vocab_path, info, dtype=training.dtype)

    evaluation = None
    if training.eval_scenes_per_count:
        from im2txt.captioner import load_captioner

        captioner = load_captioner(out)
        held_out = [
            scene
            for count in (1, 2, 3)
            for scene in held_out_scenes(training.eval_scenes_per_count, count)
        ]
        evaluation = evaluate(
            captioner,
            held_out,
            progress=_stage_reporter("evaluating", progress),
        )
    report = DemoReport(
        out=out,
        seed=seed,
        training=training,
        config=config,
        parameters=count_parameters(config),
        final_loss=final_loss,
        seconds=time.perf_counter() - started,
        train_seconds=train_seconds,
        evaluation=evaluation,
    )
    card = out / "README.md"
    card.write_text(model_card(report), encoding="utf-8")
    files = tuple(sorted(p.name for p in out.iterdir() if p.is_file()))
    # Once more with the size in the card (its own few bytes of difference do not show).
    report = dataclasses.replace(
        report, files=files, size_bytes=sum((out / name).stat().st_size for name in files)
    )
    card.write_text(model_card(report), encoding="utf-8")
    return report


def _train(
    net: _Network,
    data: _Dataset,
    rng: np.random.Generator,
    training: TrainingConfig,
    progress: ProgressCallback | None,
) -> float:
    """Both stages; the mean caption loss of the last report_every steps."""
    import tensorflow as tf

    v = net.variables
    # Stage 1: the encoder, the image embedding and the two heads.
    encoder_names = [
        *net.encoder_names,
        *net.embedding_names,
        _HEAD_WEIGHTS,
        _HEAD_BIASES,
        _EMBEDDING_HEAD_WEIGHTS,
        _EMBEDDING_HEAD_BIASES,
    ]
    adam = _Adam(
        [v[n] for n in encoder_names],
        training.clip_gradients,
        [_positional_scale(n, training) for n in encoder_names],
    )
    encoder_step = tf.function(
        lambda images, labels, rate: adam.minimize(lambda: net.encoder_loss(images, labels), rate)
    )
    _run_stage(
        "encoder",
        training.encoder_steps,
        lambda step: encoder_step(
            *map(tf.constant, _encoder_batch(data, rng, training.batch_size)),
            _rate(step, training.encoder_steps, training.encoder_learning_rate, training),
        ),
        training,
        progress,
    )
    # Stage 2: captions. A frozen encoder (rate scale 0) is left out of the gradient altogether.
    names = [*net.decoder_names, *net.embedding_names]
    if training.encoder_rate_scale > 0:
        names += net.encoder_names
    scales = [
        training.encoder_rate_scale
        if n in net.encoder_names
        else training.image_embedding_rate_scale
        if n in net.embedding_names
        else 1.0
        for n in names
    ]
    caption_adam = _Adam([v[n] for n in names], training.clip_gradients, scales)
    caption_step = tf.function(
        lambda images, inputs, targets, mask, rate: caption_adam.minimize(
            lambda: net.caption_loss(images, inputs, targets, mask), rate
        )
    )
    final_loss = _run_stage(
        "captions",
        training.steps,
        lambda step: caption_step(
            *map(tf.constant, _caption_batch(data, rng, training.batch_size)),
            _rate(step, training.steps, training.learning_rate, training),
        ),
        training,
        progress,
    )
    return final_loss


@contextlib.contextmanager
def _op_determinism():
    """TensorFlow op determinism while training, then as it was before: left on, it would make
    any unseeded random op later in the process raise (tf_slim's initialisers, for one). Every
    random number of the training itself comes from seeded numpy generators."""
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config  # the only way to switch it off

    was_on = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            tf_config.disable_op_determinism()


def _positional_scale(name: str, training: TrainingConfig) -> float:
    return training.positional_rate_scale if name == _POSITIONAL_EMBEDDING else 1.0


def _rate(step: int, steps: int, peak: float, training: TrainingConfig):
    import tensorflow as tf

    final = peak * training.final_learning_rate_fraction
    rate = learning_rate_at(step, steps, peak, final, training.warmup_steps)
    return tf.constant(rate, tf.float32)


def _run_stage(
    stage: str,
    steps: int,
    run_step: Callable[[int], object],
    training: TrainingConfig,
    progress: ProgressCallback | None,
) -> float:
    """Run `steps` steps; the mean loss of the last report_every of them."""
    recent: list[float] = []
    mean_loss = float("nan")
    for step in range(steps):
        recent.append(float(run_step(step)))
        if (step + 1) % training.report_every == 0 or step + 1 == steps:
            mean_loss = float(np.mean(recent))
            recent = []
            if progress:
                progress(Progress(stage, step + 1, steps, mean_loss))
    return mean_loss


def _encoder_batch(data: _Dataset, rng: np.random.Generator, batch_size: int):
    rows = rng.integers(len(data.images), size=batch_size)
    return data.images[rows].astype(np.float32), data.labels[rows].astype(np.float32)


def _caption_batch(data: _Dataset, rng: np.random.Generator, batch_size: int):
    """A random batch: images, <S> w1 .. wn (padded), w1 .. wn </S>, and the mask of real words."""
    rows = rng.integers(len(data.images), size=batch_size)
    choice = (rng.random(batch_size) * data.references[rows]).astype(np.int64)
    tokens = data.captions[rows, choice]  # [batch, max tokens]
    lengths = data.lengths[rows, choice]
    time_steps = int(lengths.max()) - 1
    inputs = tokens[:, :time_steps]
    targets = tokens[:, 1 : time_steps + 1]
    mask = (np.arange(time_steps)[None, :] < (lengths - 1)[:, None]).astype(np.float32)
    return data.images[rows].astype(np.float32), inputs, targets, mask


# --- model card ----------------------------------------------------------------------------------


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
        "trained on scenes the project generates (`im2txt/scenes.py`)."
    )
    lines += ["## What it knows", ""]
    lines += paragraph(
        f"Scenes of one to three filled shapes ({', '.join(scenes.SHAPES)}) in six colours "
        f"({', '.join(scenes.COLOURS)}), small or large, on light plain, gradient or faintly "
        "textured backgrounds, at any size and aspect ratio. Its captions follow the scenes' "
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
    command = training_command(report.seed, training, "model/demo")
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
            "uses (`im2txt.scene_eval.held_out_scenes`), captioned with beam size 3; the top "
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
            "Evaluate again with `pytest tests/test_demo_model.py -s -k held_out` (200 scenes "
            "of each count), or:",
            "",
            "```python",
            "import im2txt",
            "from im2txt.scene_eval import evaluate, held_out_scenes",
            "",
            f"scenes = [s for n in (1, 2, 3) for s in held_out_scenes({per}, n)]",
            'print(evaluate(im2txt.load_captioner("model/demo"), scenes))',
            "```",
            "",
        ]
    return "\n".join(lines)


def _percent(accuracy: Accuracy) -> str:
    return f"{100 * accuracy.rate:.1f} % ({accuracy.correct} / {accuracy.total})"


def _stage_reporter(stage: str, progress: ProgressCallback | None):
    """A (done, total) callback that reports as `stage`, or None without a progress callback."""
    if progress is None:
        return None
    return lambda done, total: progress(Progress(stage, done, total))
