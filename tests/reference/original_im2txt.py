"""Reference re-creation of the ORIGINAL TF1 im2txt ("Show and Tell") inference, for tests.

Written from the project's spec (shared/reference/im2txt-original.md, sections 0-7): the original
inference graph is rebuilt with ``tf.compat.v1`` graph mode and tf_slim's ``inception_v3_base``,
fed/fetched by the original tensor names, and decoded with the original sort-based beam search.
The TF2 port is compared against this module; nothing here is imported by the shipped package.

Contents
  * ``import_tf_slim()``            - tf_slim 1.1 under TF 2.21 / tf-keras 2.21 (module alias).
  * ``OriginalModel``               - the inference graph + session (``feed_image``,
                                      ``inference_step``, ``image_intermediates``), ``restore()``
                                      for TF1 checkpoints under any LSTM naming.
  * ``variable_shapes``/``INCEPTION_LAYERS``/``LSTM_NAMES`` - the checkpoint inventory.
  * ``random_weights``/``assign_weights`` - deterministic, "lively" random parameters.
  * ``save_original_checkpoint``    - TF1 V2 checkpoints with the LSTM names of any TF generation.
  * ``write_vocab``/``OriginalVocabulary`` - word_counts.txt writer and the original loader.
  * ``original_beam_search``/``format_original`` - the original decoder and run_inference lines;
    ``caption_words``/``caption_texts`` - all words of a caption (partial ones keep their last).
  * ``seed_image_bytes``/``synthetic_jpeg``/``preprocess_image_eager`` - image fixtures.

Paths: the shared material is ``$IM2TXT_SHARED`` or ``<repo>/../shared`` (as in tests/conftest.py).
"""

from __future__ import annotations

import ast
import heapq
import importlib
import io
import math
import os
import pkgutil
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

tf1 = tf.compat.v1

# --------------------------------------------------------------------------------------------
# Constants of the original model (configuration.ModelConfig / image_processing / image_embedding)
# --------------------------------------------------------------------------------------------

VOCAB_SIZE = 12000
EMBEDDING_SIZE = 512
NUM_LSTM_UNITS = 512
IMAGE_SIZE = 299
RESIZE_SIZE = 346
BATCH_NORM_DECAY = 0.9997
BATCH_NORM_EPSILON = 0.001
FORGET_BIAS = 1.0
INITIALIZER_SCALE = 0.08
START_WORD, END_WORD, UNK_WORD = "<S>", "</S>", "<UNK>"

# The two LSTM tensors under each naming generation (spec 1.2). Index 0 = kernel, 1 = bias.
LSTM_NAMES = {
    "tf0": ("lstm/BasicLSTMCell/Linear/Matrix", "lstm/BasicLSTMCell/Linear/Bias"),
    "tf1.0": ("lstm/basic_lstm_cell/weights", "lstm/basic_lstm_cell/biases"),
    "tf1.2": ("lstm/basic_lstm_cell/kernel", "lstm/basic_lstm_cell/bias"),
}
LSTM_KERNEL, LSTM_BIAS = LSTM_NAMES["tf1.2"]
# Every historical LSTM name -> the TF >= 1.2 name used by this module's weight dicts.
LSTM_ALIASES = {
    old: new
    for names in LSTM_NAMES.values()
    for old, new in zip(names, LSTM_NAMES["tf1.2"], strict=True)
}

_THIS = Path(__file__).resolve()
REAL_CHECKPOINT_PREFIX_NAME = "model.ckpt-2000000"


# --------------------------------------------------------------------------------------------
# Paths / fixtures
# --------------------------------------------------------------------------------------------


def shared_dir() -> Path:
    """``<repo>/../shared`` (the repo is .../main, this file .../main/tests/reference/)."""
    env = os.environ.get("IM2TXT_SHARED")
    if env:
        return Path(env)
    return _THIS.parents[3] / "shared"


def reference_dir() -> Path:
    return shared_dir() / "reference"


def _data_dir() -> Path:
    """tests/data/coco: the community checkpoint's vocabulary and index (MIT, committed)."""
    return _THIS.parents[1] / "data" / "coco"


def real_vocab_path() -> Path:
    return _data_dir() / "word_counts.txt"


def real_checkpoint_prefix() -> Path:
    """Prefix of the real 2M checkpoint; only its ``.index`` exists (names/shapes, no values)."""
    return _data_dir() / REAL_CHECKPOINT_PREFIX_NAME


def seed_image_dir() -> Path:
    """The original demo's photos when ``../shared`` is there (they are not the project's to
    commit); otherwise the project's own public-domain sample photos, so no test is lost."""
    shared = reference_dir() / "seed-images"
    return shared if shared.is_dir() else _THIS.parents[2] / "sample_images"


def seed_image_names() -> list[str]:
    return sorted(p.name for p in seed_image_dir().glob("*.jpg"))


def seed_image_bytes(name: str) -> bytes:
    """Encoded bytes of one of the seed photos (never copy the shared ones into the repo)."""
    return (seed_image_dir() / name).read_bytes()


def seed_photo(preferred: str) -> bytes:
    """The seed photo `preferred` (a name from ../shared), else the first seed photo there is."""
    path = seed_image_dir() / preferred
    return path.read_bytes() if path.is_file() else seed_image_bytes(seed_image_names()[0])


def _pink_noise(rng, height: int, width: int, exponent: float) -> np.ndarray:
    """A random field with a 1/f**exponent amplitude spectrum, normalised to unit std."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spectrum = rng.standard_normal(f.shape) + 1j * rng.standard_normal(f.shape)
    spectrum /= f**exponent
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(height, width))
    return field / (field.std() + 1e-12)


def synthetic_jpeg(seed: int, size: int | tuple[int, int] = (320, 240), quality: int = 90) -> bytes:
    """A random but structured picture as JPEG bytes: a sky-to-ground gradient with natural-image
    like 1/f texture, a horizon, and a few solid or textured shapes with sharp edges."""
    from PIL import Image, ImageDraw

    width, height = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    base = rng.uniform(0, 255, 3) * (1 - t) + rng.uniform(0, 255, 3) * t
    base = np.broadcast_to(base, (height, width, 3)).copy()
    luminance = _pink_noise(rng, height, width, rng.uniform(0.8, 1.3))
    base += rng.uniform(15, 45) * luminance[..., None]
    for c in range(3):
        base[..., c] += rng.uniform(5, 20) * _pink_noise(rng, height, width, 1.2)
    horizon = int(rng.uniform(0.35, 0.8) * height)
    ground = _pink_noise(rng, height - horizon, width, rng.uniform(0.6, 1.1))
    base[horizon:] = rng.uniform(20, 235, 3) + rng.uniform(10, 40) * ground[..., None]
    mask_img = Image.new("L", (width, height), 0)
    for _ in range(int(rng.integers(3, 9))):
        mask_img.paste(0, (0, 0, width, height))
        draw = ImageDraw.Draw(mask_img)
        x0, y0 = rng.uniform(-0.1, 0.9) * width, rng.uniform(0, 0.9) * height
        w, h = rng.uniform(0.05, 0.45) * width, rng.uniform(0.05, 0.45) * height
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=255)
        elif kind == 1:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=255)
        else:
            draw.polygon([(x0 + rng.uniform(0, w), y0 + rng.uniform(0, h)) for _ in range(3)], 255)
        mask = np.asarray(mask_img, dtype=np.float32)[..., None] / 255.0
        texture = rng.uniform(0, 50) * _pink_noise(rng, height, width, rng.uniform(0.5, 1.5))
        shape = rng.uniform(0, 255, 3) + texture[..., None]
        base = base * (1 - mask) + shape * mask
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# tf_slim import
# --------------------------------------------------------------------------------------------


def import_tf_slim():
    """Import tf_slim 1.1 under TF 2.21.

    tf_slim builds its layers on ``tensorflow.python.layers.*``. In TF 2.21 the ``normalization``
    module there is a lazy loader of ``tf_keras.legacy_tf_layers.normalization``, but tf-keras 2.21
    ships that package only as ``tf_keras.src.legacy_tf_layers``, so slim's ``batch_norm`` fails.
    Install ``sys.modules`` aliases for the package and every submodule, then import tf_slim.
    """
    try:
        importlib.import_module("tf_keras.legacy_tf_layers.normalization")
    except ImportError:
        import tf_keras

        src = importlib.import_module("tf_keras.src.legacy_tf_layers")
        sys.modules.setdefault("tf_keras.legacy_tf_layers", src)
        if not hasattr(tf_keras, "legacy_tf_layers"):
            tf_keras.legacy_tf_layers = src
        for info in pkgutil.iter_modules(src.__path__):
            module = importlib.import_module(f"tf_keras.src.legacy_tf_layers.{info.name}")
            sys.modules.setdefault(f"tf_keras.legacy_tf_layers.{info.name}", module)
    import tf_slim

    return tf_slim


def basic_lstm_cell_class():
    """``tf.compat.v1.nn.rnn_cell.BasicLSTMCell``, or the class it routes to with tf-keras.

    With Keras 3 installed (TF 2.21 default) the public ``tf.compat.v1.nn.rnn_cell`` namespace is
    a Keras lazy loader that refuses ("not available with Keras 3") unless TF_USE_LEGACY_KERAS=1
    was set before TF was imported; then it resolves to tf-keras' legacy cell, used directly here.
    """
    try:
        return tf1.nn.rnn_cell.BasicLSTMCell
    except (AttributeError, ImportError):
        from tf_keras.src.layers.rnn.legacy_cells import BasicLSTMCell

        return BasicLSTMCell


# --------------------------------------------------------------------------------------------
# Variable inventory (spec 1.1 / 1.3)
# --------------------------------------------------------------------------------------------


def _inception_v3_walk(ops):
    """Walk slim's inception_v3_base topology up to Mixed_7c, in layer creation order.

    ``ops`` supplies ``conv(name, x, kh, kw, depth, stride=1, padding="SAME")``, ``max_pool(x)``
    (3x3 stride 2 VALID),
    ``avg_pool(x)`` (3x3 stride 1 SAME) and ``concat(xs)`` over whatever value type it uses.
    """
    conv = ops.conv
    x = conv("Conv2d_1a_3x3", ops.image(), 3, 3, 32, 2, "VALID")
    x = conv("Conv2d_2a_3x3", x, 3, 3, 32, 1, "VALID")
    x = conv("Conv2d_2b_3x3", x, 3, 3, 64)
    x = ops.max_pool(x)  # MaxPool_3a_3x3
    x = conv("Conv2d_3b_1x1", x, 1, 1, 80, 1, "VALID")
    x = conv("Conv2d_4a_3x3", x, 3, 3, 192, 1, "VALID")
    x = ops.max_pool(x)  # MaxPool_5a_3x3
    for block, pool_depth in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        odd = block == "Mixed_5c"  # slim's naming quirk
        b0 = conv(f"{block}/Branch_0/Conv2d_0a_1x1", x, 1, 1, 64)
        b1 = conv(f"{block}/Branch_1/Conv2d_0{'b' if odd else 'a'}_1x1", x, 1, 1, 48)
        b1 = conv(f"{block}/Branch_1/{'Conv_1_0c_5x5' if odd else 'Conv2d_0b_5x5'}", b1, 5, 5, 64)
        b2 = conv(f"{block}/Branch_2/Conv2d_0a_1x1", x, 1, 1, 64)
        b2 = conv(f"{block}/Branch_2/Conv2d_0b_3x3", b2, 3, 3, 96)
        b2 = conv(f"{block}/Branch_2/Conv2d_0c_3x3", b2, 3, 3, 96)
        b3 = conv(f"{block}/Branch_3/Conv2d_0b_1x1", ops.avg_pool(x), 1, 1, pool_depth)
        x = ops.concat([b0, b1, b2, b3])
    b0 = conv("Mixed_6a/Branch_0/Conv2d_1a_1x1", x, 3, 3, 384, 2, "VALID")
    b1 = conv("Mixed_6a/Branch_1/Conv2d_0a_1x1", x, 1, 1, 64)
    b1 = conv("Mixed_6a/Branch_1/Conv2d_0b_3x3", b1, 3, 3, 96)
    b1 = conv("Mixed_6a/Branch_1/Conv2d_1a_1x1", b1, 3, 3, 96, 2, "VALID")
    x = ops.concat([b0, b1, ops.max_pool(x)])
    for block, c in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        b0 = conv(f"{block}/Branch_0/Conv2d_0a_1x1", x, 1, 1, 192)
        b1 = conv(f"{block}/Branch_1/Conv2d_0a_1x1", x, 1, 1, c)
        b1 = conv(f"{block}/Branch_1/Conv2d_0b_1x7", b1, 1, 7, c)
        b1 = conv(f"{block}/Branch_1/Conv2d_0c_7x1", b1, 7, 1, 192)
        b2 = conv(f"{block}/Branch_2/Conv2d_0a_1x1", x, 1, 1, c)
        b2 = conv(f"{block}/Branch_2/Conv2d_0b_7x1", b2, 7, 1, c)
        b2 = conv(f"{block}/Branch_2/Conv2d_0c_1x7", b2, 1, 7, c)
        b2 = conv(f"{block}/Branch_2/Conv2d_0d_7x1", b2, 7, 1, c)
        b2 = conv(f"{block}/Branch_2/Conv2d_0e_1x7", b2, 1, 7, 192)
        b3 = conv(f"{block}/Branch_3/Conv2d_0b_1x1", ops.avg_pool(x), 1, 1, 192)
        x = ops.concat([b0, b1, b2, b3])
    b0 = conv("Mixed_7a/Branch_0/Conv2d_0a_1x1", x, 1, 1, 192)
    b0 = conv("Mixed_7a/Branch_0/Conv2d_1a_3x3", b0, 3, 3, 320, 2, "VALID")
    b1 = conv("Mixed_7a/Branch_1/Conv2d_0a_1x1", x, 1, 1, 192)
    b1 = conv("Mixed_7a/Branch_1/Conv2d_0b_1x7", b1, 1, 7, 192)
    b1 = conv("Mixed_7a/Branch_1/Conv2d_0c_7x1", b1, 7, 1, 192)
    b1 = conv("Mixed_7a/Branch_1/Conv2d_1a_3x3", b1, 3, 3, 192, 2, "VALID")
    x = ops.concat([b0, b1, ops.max_pool(x)])
    for block, second in (("Mixed_7b", "Conv2d_0b_3x1"), ("Mixed_7c", "Conv2d_0c_3x1")):
        b0 = conv(f"{block}/Branch_0/Conv2d_0a_1x1", x, 1, 1, 320)
        b1 = conv(f"{block}/Branch_1/Conv2d_0a_1x1", x, 1, 1, 384)
        b1 = ops.concat(
            [
                conv(f"{block}/Branch_1/Conv2d_0b_1x3", b1, 1, 3, 384),
                conv(f"{block}/Branch_1/{second}", b1, 3, 1, 384),
            ]
        )
        b2 = conv(f"{block}/Branch_2/Conv2d_0a_1x1", x, 1, 1, 448)
        b2 = conv(f"{block}/Branch_2/Conv2d_0b_3x3", b2, 3, 3, 384)
        b2 = ops.concat(
            [
                conv(f"{block}/Branch_2/Conv2d_0c_1x3", b2, 1, 3, 384),
                conv(f"{block}/Branch_2/Conv2d_0d_3x1", b2, 3, 1, 384),
            ]
        )
        b3 = conv(f"{block}/Branch_3/Conv2d_0b_1x1", ops.avg_pool(x), 1, 1, 192)
        x = ops.concat([b0, b1, b2, b3])
    return x


class _ShapeWalk:
    """Channel counts only: records (name, HWIO shape) per conv."""

    def __init__(self):
        self.rows: list[tuple[str, tuple[int, int, int, int]]] = []

    def image(self):
        return 3

    def conv(self, name, x, kh, kw, depth, stride=1, padding="SAME"):
        self.rows.append((name, (kh, kw, x, depth)))
        return depth

    def max_pool(self, x):
        return x

    avg_pool = max_pool

    def concat(self, xs):
        return sum(xs)


class _CalibrationWalk:
    """Draws the Inception weights layer by layer and sets each BN's moving statistics from the
    actual statistics of the conv output on a small batch of calibration images (run eagerly
    with plain ``tf.nn`` ops), like a net whose BN statistics came from data: every BN output is
    centred with unit variance (up to the jitter), so activations stay O(1) through all 94 layers
    and the pooled features are not dominated by large image-independent channel offsets."""

    def __init__(self, rng, out, images, mean_jitter, variance_range, beta_std):
        self.rng, self.out, self.images = rng, out, images
        self.mean_jitter, self.variance_range, self.beta_std = mean_jitter, variance_range, beta_std

    def image(self):
        return self.images

    def conv(self, name, x, kh, kw, depth, stride=1, padding="SAME"):
        rng = self.rng
        cin = int(x.shape[-1])
        weights = rng.standard_normal((kh, kw, cin, depth), dtype=np.float32)
        weights *= np.float32(math.sqrt(2.0 / (kh * kw * cin)))
        y = tf.nn.conv2d(x, weights, strides=stride, padding=padding)
        mean, var = (t.numpy().astype(np.float64) for t in tf.nn.moments(y, axes=[0, 1, 2]))
        std = np.sqrt(var + BATCH_NORM_EPSILON)
        lo, hi = self.variance_range
        moving_mean = mean + rng.standard_normal(depth) * self.mean_jitter * std
        moving_variance = var * rng.uniform(lo, hi, depth)
        beta = rng.standard_normal(depth) * self.beta_std
        prefix = f"InceptionV3/{name}"
        self.out[f"{prefix}/weights"] = weights
        self.out[f"{prefix}/BatchNorm/beta"] = beta.astype(np.float32)
        self.out[f"{prefix}/BatchNorm/moving_mean"] = moving_mean.astype(np.float32)
        self.out[f"{prefix}/BatchNorm/moving_variance"] = moving_variance.astype(np.float32)
        scale = 1.0 / np.sqrt(moving_variance + BATCH_NORM_EPSILON)
        offset = beta - moving_mean * scale
        return tf.nn.relu(y * scale.astype(np.float32) + offset.astype(np.float32))

    def max_pool(self, x):
        return tf.nn.max_pool2d(x, 3, 2, "VALID")

    def avg_pool(self, x):
        return tf.nn.avg_pool2d(x, 3, 1, "SAME")

    def concat(self, xs):
        return tf.concat(xs, axis=3)


def preprocess_image_eager(encoded: bytes) -> tf.Tensor:
    """The original preprocessing (spec 2), eagerly: [299, 299, 3] float32 in [-1, 1]."""
    image = tf.image.convert_image_dtype(tf.io.decode_jpeg(encoded, channels=3), tf.float32)
    image = tf1.image.resize_bilinear(
        image[None], [RESIZE_SIZE, RESIZE_SIZE], align_corners=False, half_pixel_centers=False
    )[0]
    image = tf1.image.resize_image_with_crop_or_pad(image, IMAGE_SIZE, IMAGE_SIZE)
    return (image - 0.5) * 2.0


def _inception_layers() -> list[tuple[str, tuple[int, int, int, int]]]:
    """The 94 conv layers of slim's inception_v3_base in creation order: (name, HWIO shape)."""
    walk = _ShapeWalk()
    depth = _inception_v3_walk(walk)
    assert len(walk.rows) == 94 and depth == 2048
    return walk.rows


INCEPTION_LAYERS = _inception_layers()


def variable_shapes(
    vocab_size: int = VOCAB_SIZE,
    embedding_size: int = EMBEDDING_SIZE,
    num_lstm_units: int = NUM_LSTM_UNITS,
    naming: str = "tf1.2",
    include_global_step: bool = True,
) -> dict[str, tuple[int, ...]]:
    """Every checkpoint tensor of the original model: name -> shape (383 with global_step)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer, shape in INCEPTION_LAYERS:
        shapes[f"InceptionV3/{layer}/weights"] = shape
        for p in ("beta", "moving_mean", "moving_variance"):
            shapes[f"InceptionV3/{layer}/BatchNorm/{p}"] = (shape[3],)
    shapes["image_embedding/weights"] = (2048, embedding_size)
    shapes["seq_embedding/map"] = (vocab_size, embedding_size)
    kernel, bias = LSTM_NAMES[naming]
    shapes[kernel] = (embedding_size + num_lstm_units, 4 * num_lstm_units)
    shapes[bias] = (4 * num_lstm_units,)
    shapes["logits/weights"] = (num_lstm_units, vocab_size)
    shapes["logits/biases"] = (vocab_size,)
    if include_global_step:
        shapes["global_step"] = ()
    return shapes


def canonical_name(name: str) -> str:
    """Map any historical LSTM name to the TF >= 1.2 one; other names unchanged."""
    return LSTM_ALIASES.get(name, name)


# --------------------------------------------------------------------------------------------
# The original inference graph
# --------------------------------------------------------------------------------------------


class OriginalModel:
    """The original ``ShowAndTellModel(mode="inference")`` graph plus ``InferenceWrapper`` calls.

    Tensor names are the original ones: ``image_feed:0``, ``input_feed:0``,
    ``lstm/initial_state:0``, ``lstm/state_feed:0``, ``lstm/state:0``, ``softmax:0``.
    Variables are left uninitialised: call ``assign_weights`` or ``restore`` before running.
    """

    def __init__(
        self,
        vocab_size: int = VOCAB_SIZE,
        embedding_size: int = EMBEDDING_SIZE,
        num_lstm_units: int = NUM_LSTM_UNITS,
        session_config=None,
    ):
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.num_lstm_units = num_lstm_units
        self.graph = tf.Graph()
        self.endpoints: dict[str, tf.Tensor] = {}
        with self.graph.as_default():
            self._build()
            self.variables = {v.op.name: v for v in tf1.global_variables()}
            self._assign_feeds = {}
            self._assign_ops = []
            for name, var in self.variables.items():
                ph = tf1.placeholder(var.dtype.base_dtype, var.shape, name=f"assign_feed/{name}")
                self._assign_feeds[name] = ph
                self._assign_ops.append(var.assign(ph, read_value=False))
        self.graph.finalize()
        self.session = tf1.Session(graph=self.graph, config=session_config)

    # ---- graph construction (show_and_tell_model.py, image_processing.py, image_embedding.py)

    def _process_image(self, encoded):
        with tf.name_scope("decode"):
            image = tf.io.decode_jpeg(encoded, channels=3)
        image = tf.image.convert_image_dtype(image, dtype=tf.float32)
        image = tf1.image.resize_bilinear(
            image[None],
            [RESIZE_SIZE, RESIZE_SIZE],
            align_corners=False,
            half_pixel_centers=False,
        )[0]
        self.endpoints["resized_image"] = image
        image = tf1.image.resize_image_with_crop_or_pad(image, IMAGE_SIZE, IMAGE_SIZE)
        image = tf.subtract(image, 0.5)
        image = tf.multiply(image, 2.0)
        return image

    def _inception_v3(self, images):
        slim = import_tf_slim()
        from tf_slim.nets import inception_v3 as slim_inception

        batch_norm_params = {
            "is_training": False,
            "trainable": False,
            "decay": BATCH_NORM_DECAY,
            "epsilon": BATCH_NORM_EPSILON,
            # scale defaults to False -> no gamma, as in the original checkpoints
            "variables_collections": {
                "beta": None,
                "gamma": None,
                "moving_mean": ["moving_vars"],
                "moving_variance": ["moving_vars"],
            },
        }
        with (
            tf1.variable_scope("InceptionV3", "InceptionV3", [images]) as scope,
            slim.arg_scope(
                [slim.conv2d, slim.fully_connected], weights_regularizer=None, trainable=False
            ),
            slim.arg_scope(
                [slim.conv2d],
                weights_initializer=tf1.truncated_normal_initializer(stddev=0.1),
                activation_fn=tf.nn.relu,
                normalizer_fn=slim.batch_norm,
                normalizer_params=batch_norm_params,
            ),
        ):
            net, end_points = slim_inception.inception_v3_base(images, scope=scope)
            with tf1.variable_scope("logits"):
                shape = net.get_shape()
                net = slim.avg_pool2d(net, shape[1:3], padding="VALID", scope="pool")
                net = slim.dropout(net, keep_prob=0.8, is_training=False, scope="dropout")
                net = slim.flatten(net, scope="flatten")
        self.endpoints.update(end_points)
        return net

    def _build(self):
        slim = import_tf_slim()
        initializer = tf1.random_uniform_initializer(-INITIALIZER_SCALE, INITIALIZER_SCALE)

        # build_inputs (inference)
        image_feed = tf1.placeholder(dtype=tf.string, shape=[], name="image_feed")
        input_feed = tf1.placeholder(dtype=tf.int64, shape=[None], name="input_feed")
        images = tf.expand_dims(self._process_image(image_feed), 0)
        input_seqs = tf.expand_dims(input_feed, 1)
        self.endpoints["image"] = images

        # build_image_embeddings
        inception_output = self._inception_v3(images)
        self.endpoints["inception_output"] = inception_output
        with tf1.variable_scope("image_embedding") as scope:
            image_embeddings = slim.fully_connected(
                inputs=inception_output,
                num_outputs=self.embedding_size,
                activation_fn=None,
                weights_initializer=initializer,
                biases_initializer=None,
                scope=scope,
            )
        tf.constant(self.embedding_size, name="embedding_size")
        self.endpoints["image_embedding"] = image_embeddings

        # build_seq_embeddings
        with tf1.variable_scope("seq_embedding"), tf.device("/cpu:0"):
            embedding_map = tf1.get_variable(
                name="map",
                shape=[self.vocab_size, self.embedding_size],
                initializer=initializer,
            )
            seq_embeddings = tf.nn.embedding_lookup(embedding_map, input_seqs)

        # build_model (inference branch)
        cell_class = basic_lstm_cell_class()
        self.lstm_cell_class = cell_class
        lstm_cell = cell_class(num_units=self.num_lstm_units, state_is_tuple=True)
        with tf1.variable_scope("lstm", initializer=initializer) as lstm_scope:
            zero_state = lstm_cell.zero_state(
                batch_size=image_embeddings.get_shape()[0], dtype=tf.float32
            )
            _, initial_state = lstm_cell(image_embeddings, zero_state)
            lstm_scope.reuse_variables()
            tf.concat(axis=1, values=initial_state, name="initial_state")
            state_feed = tf1.placeholder(
                dtype=tf.float32, shape=[None, sum(lstm_cell.state_size)], name="state_feed"
            )
            state_tuple = tf.split(value=state_feed, num_or_size_splits=2, axis=1)
            lstm_outputs, state_tuple = lstm_cell(
                inputs=tf.squeeze(seq_embeddings, axis=[1]), state=state_tuple
            )
            tf.concat(axis=1, values=state_tuple, name="state")
        lstm_outputs = tf.reshape(lstm_outputs, [-1, lstm_cell.output_size])
        with tf1.variable_scope("logits") as logits_scope:
            logits = slim.fully_connected(
                inputs=lstm_outputs,
                num_outputs=self.vocab_size,
                activation_fn=None,
                weights_initializer=initializer,
                scope=logits_scope,
            )
        tf.nn.softmax(logits, name="softmax")
        self.endpoints["logits"] = logits

        # setup_global_step
        tf1.Variable(
            initial_value=0,
            name="global_step",
            trainable=False,
            collections=[tf1.GraphKeys.GLOBAL_STEP, tf1.GraphKeys.GLOBAL_VARIABLES],
        )

    # ---- InferenceWrapper API (one session.run each, fetched/fed by name)

    def feed_image(self, encoded_image: bytes) -> np.ndarray:
        """State after the image step, ``concat(c, h)`` of shape [1, 2*num_lstm_units]."""
        return self.session.run(
            fetches="lstm/initial_state:0", feed_dict={"image_feed:0": encoded_image}
        )

    def inference_step(self, input_feed, state_feed) -> tuple[np.ndarray, np.ndarray]:
        """One LSTM step for a batch of beams: returns (softmax [b, vocab], new_state [b, 1024])."""
        softmax_output, state_output = self.session.run(
            fetches=["softmax:0", "lstm/state:0"],
            feed_dict={"input_feed:0": input_feed, "lstm/state_feed:0": state_feed},
        )
        return softmax_output, state_output

    def image_intermediates(self, encoded_image: bytes, names: Iterable[str]) -> dict:
        """Values of named endpoints (e.g. "image", "Mixed_7c", "image_embedding") for one image."""
        names = list(names)
        values = self.session.run(
            [self.endpoints[n] for n in names], feed_dict={"image_feed:0": encoded_image}
        )
        return dict(zip(names, values, strict=True))

    # ---- weights

    def variable_shapes(self) -> dict[str, tuple[int, ...]]:
        return {n: tuple(v.shape.as_list()) for n, v in self.variables.items()}

    def assign(self, weights: Mapping[str, np.ndarray]) -> None:
        """Set every variable from ``weights`` (any LSTM naming; global_step optional)."""
        by_name = {canonical_name(k): v for k, v in weights.items()}
        unknown = sorted(set(by_name) - set(self.variables))
        if unknown:
            raise KeyError(f"unknown tensors: {unknown[:5]}")
        feed = {}
        ops = []
        for op, (name, ph) in zip(self._assign_ops, self._assign_feeds.items(), strict=True):
            if name not in by_name:
                if name == "global_step":
                    value = np.asarray(0, np.int32)
                else:
                    raise KeyError(f"missing tensor {name}")
            else:
                value = np.asarray(by_name[name])
            if tuple(value.shape) != tuple(ph.shape.as_list()):
                raise ValueError(f"{name}: shape {value.shape} != {ph.shape.as_list()}")
            feed[ph] = value.astype(ph.dtype.as_numpy_dtype, copy=False)
            ops.append(op)
        self.session.run(ops, feed_dict=feed)

    def restore(self, checkpoint_path: str | os.PathLike) -> str:
        """Restore from a TF1 checkpoint prefix or a directory with a ``checkpoint`` file.

        Same values as the original ``tf.train.Saver().restore`` (extra tensors are ignored), except
        that the LSTM kernel/bias are looked up under whichever of the three historical names is
        present. Reads with ``tf.train.load_checkpoint`` and assigns through the feed ops, so the
        finalized graph is not touched.
        """
        path = str(checkpoint_path)
        if os.path.isdir(path):
            latest = tf.train.latest_checkpoint(path)
            if not latest:
                raise ValueError(f"No checkpoint file found in: {path}")
            path = latest
        reader = tf.train.load_checkpoint(path)
        available = {canonical_name(n): n for n in reader.get_variable_to_shape_map()}
        missing = sorted(set(self.variables) - set(available))
        if missing:
            raise KeyError(f"{missing[0]} not found in checkpoint {path}")
        self.assign({name: reader.get_tensor(available[name]) for name in self.variables})
        return path

    def get_weights(self) -> dict[str, np.ndarray]:
        names = list(self.variables)
        values = self.session.run([self.variables[n] for n in names])
        return dict(zip(names, values, strict=True))

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def assign_weights(model: OriginalModel, weights: Mapping[str, np.ndarray]) -> None:
    model.assign(weights)


# --------------------------------------------------------------------------------------------
# Random "lively" weights
# --------------------------------------------------------------------------------------------


def random_weights(
    seed: int,
    vocab_size: int = VOCAB_SIZE,
    end_id: int = 2,
    *,
    start_id: int = 1,
    num_words: int | None = None,
    embedding_size: int = EMBEDDING_SIZE,
    num_lstm_units: int = NUM_LSTM_UNITS,
    bn_mean_jitter: float = 0.1,
    bn_variance_range: tuple[float, float] = (0.8, 1.25),
    bn_beta_std: float = 0.05,
    calibration_images: int = 4,
    image_embedding_scale: float = 1.0,
    center_image_embedding: bool = True,
    seq_embedding_std: float = 1.0,
    lstm_gain: float = 1.5,
    lstm_bias_std: float = 0.1,
    length_units: int = 2,
    length_rate: float = 0.15,
    length_input_gain: float = 0.2,
    logits_std: float = 1.0,
    logits_decay: float = 0.1,
    zipf_exponent: float = 0.7,
    end_bias: float = -3.0,
    end_weight: float = 12.0,
    end_state_std: float = 0.1,
    include_global_step: bool = False,
) -> dict[str, np.ndarray]:
    """Deterministic random parameters (TF >= 1.2 names) that keep the model's behaviour lively.

    Everything is drawn from ``np.random.default_rng(seed)`` in a fixed order; the only
    non-numpy step is an eager TF forward pass over ``calibration_images`` synthetic JPEGs (so
    the result is reproducible on a machine, and equal across machines up to float rounding of
    the BN statistics). Returns name -> float32 array for every variable except ``global_step``
    (unless ``include_global_step``). Tuned so that on real photos Mixed_7c has std ~0.5-4, the
    best caption's per-step top probability is mostly 0.2-0.99, and beam-3 captions end at
    lengths that vary with the image (mostly 3-15 words).

    * Inception: He-scaled conv weights (std sqrt(2/fan_in)); BN moving_mean/moving_variance set
      to the conv output's statistics on the calibration batch, the mean jittered by
      ``bn_mean_jitter`` std and the variance multiplied by U(``bn_variance_range``); beta ~
      N(0, ``bn_beta_std``). (Random BN statistics make every image's pooled features ~99.5 %
      cosine-similar, hence identical captions.)
    * image_embedding: N(0, 1) with the mean calibration feature direction projected out, scaled
      so the embedding of an image is ~``image_embedding_scale`` * (its feature deviation).
    * seq_embedding: N(0, ``seq_embedding_std``); LSTM kernel N(0, lstm_gain^2 / 1024), bias
      N(0, ``lstm_bias_std``), except ``length_units`` "clock" units whose c grows by about
      ``length_rate`` per step from an image-dependent start (input weight ``length_input_gain``).
    * logits: column std ``logits_std`` * (1 + id) ** -``logits_decay``, biases
      -``zipf_exponent`` * ln(1 + id) + N(0, 0.5) (ids are sorted by frequency); ids >=
      ``num_words`` and the start word get -20; the end word's column reads the clock units
      (total weight ``end_weight``, bias ``end_bias``) plus N(0, ``end_state_std``) elsewhere.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}

    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)

    seeds = rng.integers(0, 2**31, calibration_images)
    with tf.device("/cpu:0"):
        images = tf.stack([preprocess_image_eager(synthetic_jpeg(int(k))) for k in seeds])
        walk = _CalibrationWalk(rng, out, images, bn_mean_jitter, bn_variance_range, bn_beta_std)
        features = tf.reduce_mean(_inception_v3_walk(walk), axis=[1, 2]).numpy()

    # Project the average calibration feature vector out of the embedding weights, so that the
    # embedding reflects how an image's features differ from the typical image, and scale it by
    # the spread of the features across the calibration images.
    w_img = rng.standard_normal((2048, embedding_size))
    if center_image_embedding:
        u = features.mean(axis=0)
        u /= np.linalg.norm(u)
        w_img -= np.outer(u, u @ w_img)
    spread = math.sqrt(float(features.var(axis=0).sum()))
    out["image_embedding/weights"] = (w_img * (image_embedding_scale / spread)).astype(np.float32)
    out["seq_embedding/map"] = normal((vocab_size, embedding_size), seq_embedding_std)

    # LSTM: gates i, j, f, o in column blocks of n; rows [:embedding_size] multiply the input.
    n = num_lstm_units
    fan_in = embedding_size + n
    kernel = normal((fan_in, 4 * n), lstm_gain / math.sqrt(fan_in))
    bias = normal((4 * n,), lstm_bias_std)
    # "Length" units: input/forget/output gates pinned open (no weights, large biases), the
    # candidate has a positive bias plus a weak input-dependent part and no recurrence. Their c
    # integrates a per-step increment from the image step on, like a word counter whose rate
    # and start depend on the image and the words; the end word's logit reads them.
    counters = np.arange(n - length_units, n)
    if length_units > 0:
        for gate in (0, 2, 3):
            kernel[:, gate * n + counters] = 0.0
        kernel[embedding_size:, n + counters] = 0.0
        shared = kernel[:embedding_size, n + counters[0]] * np.float32(length_input_gain)
        kernel[:embedding_size, n + counters] = shared[:, None]
        bias[counters] = 4.0
        bias[n + counters] = np.arctanh(length_rate)
        bias[2 * n + counters] = 6.0
        bias[3 * n + counters] = 4.0
    out[LSTM_KERNEL] = kernel
    out[LSTM_BIAS] = bias

    # Logits: Zipf-like prior by id (the vocabulary is sorted by frequency), state sensitivity
    # decaying with the id, so that frequent words win most steps but by varied margins.
    ids = np.arange(vocab_size, dtype=np.float64)
    column_std = logits_std * (1.0 + ids) ** (-logits_decay)
    logits_w = normal((n, vocab_size), 1.0) * column_std.astype(np.float32)
    logits_b = -zipf_exponent * np.log1p(ids) + rng.normal(0.0, 0.5, vocab_size)
    if num_words is not None and num_words < vocab_size:
        logits_b[num_words:] -= 20.0  # ids past the real vocabulary are never produced
    if 0 <= start_id < vocab_size and start_id != end_id:
        logits_b[start_id] -= 20.0
    if 0 <= end_id < vocab_size:
        end_column = normal((n,), end_state_std)
        if length_units > 0:
            end_column[counters] = end_weight / length_units
        logits_w[:, end_id] = end_column
        logits_b[end_id] = end_bias
    out["logits/weights"] = logits_w
    out["logits/biases"] = logits_b.astype(np.float32)
    if include_global_step:
        out["global_step"] = np.asarray(0, np.int32)
    return out


# --------------------------------------------------------------------------------------------
# Checkpoint writing
# --------------------------------------------------------------------------------------------


def save_original_checkpoint(
    weights: Mapping[str, np.ndarray],
    directory: str | os.PathLike,
    naming: str = "tf1.0",
    step: int = 2000000,
    write_state_file: bool = True,
    extra_tensors: Mapping[str, np.ndarray] | None = None,
    write_meta_graph: bool = False,
    relative_state_paths: bool = True,
) -> str:
    """Write a TF1 V2 checkpoint ``<directory>/model.ckpt-<step>`` like a training run would.

    LSTM tensors are saved under the names of ``naming`` ("tf0", "tf1.0" or "tf1.2"); all other
    names as in the real index. ``global_step`` (int32 scalar) = ``weights["global_step"]`` if
    present, else ``step``. ``extra_tensors`` (e.g. fake optimizer slots) are saved verbatim.
    The ``checkpoint`` state file (if written) holds a path relative to ``directory`` unless
    ``relative_state_paths`` is False (then absolute, like a trainer on another machine wrote).
    Returns the checkpoint prefix.
    """
    if naming not in LSTM_NAMES:
        raise ValueError(f"naming must be one of {sorted(LSTM_NAMES)}")
    rename = dict(zip(LSTM_NAMES["tf1.2"], LSTM_NAMES[naming], strict=True))
    tensors: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        name = canonical_name(name)
        tensors[rename.get(name, name)] = np.asarray(value)
    tensors["global_step"] = np.asarray(tensors.get("global_step", step), dtype=np.int32)
    for name, value in (extra_tensors or {}).items():
        tensors[name] = np.asarray(value)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        feeds, var_list = {}, {}
        for i, (name, value) in enumerate(tensors.items()):
            dtype = tf.as_dtype(value.dtype)
            ph = tf1.placeholder(dtype, value.shape)
            var_list[name] = tf1.Variable(ph, name=f"v{i}", trainable=False)
            feeds[ph] = value
        init = tf1.global_variables_initializer()
        saver = tf1.train.Saver(var_list=var_list, save_relative_paths=relative_state_paths)
        with tf1.Session(graph=graph) as sess:
            sess.run(init, feed_dict=feeds)
            feeds.clear()
            prefix = saver.save(
                sess,
                str(directory / "model.ckpt"),
                global_step=step,
                write_meta_graph=write_meta_graph,
                write_state=write_state_file,
            )
    return prefix


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------


def write_vocab(
    words_with_counts: Iterable[tuple[str, int]] | Mapping[str, int],
    path: str | os.PathLike,
    fmt: str = "plain",
) -> None:
    """Write a word_counts.txt as build_mscoco_data.py did: lines joined by "\\n", no final one.

    fmt "plain": ``word count`` (Python 2 / str words); "bytes": ``b'word' count`` (what the
    script wrote under Python 3, where the words were bytes).
    """
    items = (
        words_with_counts.items() if isinstance(words_with_counts, Mapping) else words_with_counts
    )
    if fmt == "plain":
        lines = [f"{w} {c:d}" for w, c in items]  # the original's "%s %d"
    elif fmt == "bytes":
        lines = [f"{w.encode('utf-8')!s} {c:d}" for w, c in items]  # str(bytes) = "b'...'"
    else:
        raise ValueError(f"unknown vocabulary format {fmt!r}")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(lines))


_BYTES_LITERAL = re.compile(r"""^b(['"]).*\1$""")


class OriginalVocabulary:
    """The original ``inference_utils/vocabulary.Vocabulary`` semantics (+ b'...' decoding).

    word = first whitespace token of each line, id = 0-based line number; ``<S>``/``</S>`` must be
    present; ``<UNK>`` is appended if absent; unknown words -> unk_id; ids >= len -> ``<UNK>``.
    """

    def __init__(
        self,
        vocab_file: str | os.PathLike,
        start_word: str = START_WORD,
        end_word: str = END_WORD,
        unk_word: str = UNK_WORD,
    ):
        with open(vocab_file, encoding="utf-8") as f:
            reverse_vocab = list(f.readlines())
        reverse_vocab = [self._decode(line.split()[0]) for line in reverse_vocab]
        assert start_word in reverse_vocab
        assert end_word in reverse_vocab
        if unk_word not in reverse_vocab:
            reverse_vocab.append(unk_word)
        self.vocab = {word: i for i, word in enumerate(reverse_vocab)}
        self.reverse_vocab = reverse_vocab
        self.start_id = self.vocab[start_word]
        self.end_id = self.vocab[end_word]
        self.unk_id = self.vocab[unk_word]

    @staticmethod
    def _decode(token: str) -> str:
        if _BYTES_LITERAL.match(token):
            value = ast.literal_eval(token)
            return value.decode("utf-8") if isinstance(value, bytes) else str(value)
        return token

    def __len__(self) -> int:
        return len(self.reverse_vocab)

    def word_to_id(self, word: str) -> int:
        return self.vocab.get(word, self.unk_id)

    def id_to_word(self, word_id: int) -> str:
        if word_id >= len(self.reverse_vocab):
            return self.reverse_vocab[self.unk_id]
        return self.reverse_vocab[word_id]


# --------------------------------------------------------------------------------------------
# The original sort-based beam search (caption_generator.py) and printing (run_inference.py)
# --------------------------------------------------------------------------------------------


class _Caption:
    """A beam; ordered only by score (``__lt__``/``__eq__`` as added in PR #842)."""

    __slots__ = ("logprob", "score", "sentence", "state")

    def __init__(self, sentence, state, logprob, score):
        self.sentence = sentence
        self.state = state
        self.logprob = logprob
        self.score = score

    def __lt__(self, other):
        assert isinstance(other, _Caption)
        return self.score < other.score

    def __eq__(self, other):
        assert isinstance(other, _Caption)
        return self.score == other.score

    __hash__ = None


class _TopN:
    """Keeps the n largest items (a min-heap; the incoming item loses ties when full)."""

    def __init__(self, n):
        self._n = n
        self._data = []

    def size(self):
        return len(self._data)

    def push(self, item):
        if len(self._data) < self._n:
            heapq.heappush(self._data, item)
        else:
            heapq.heappushpop(self._data, item)

    def extract(self, sort=False):
        data = self._data
        self._data = None
        if sort:
            data.sort(reverse=True)
        return data

    def reset(self):
        self._data = []


class OriginalCaption(NamedTuple):
    sentence: list[int]  # word ids, starting with <S>; ends with </S> when complete
    logprob: float  # sum of natural-log word probabilities
    score: float  # logprob, length-normalised for complete captions if the factor is > 0


def original_beam_search(
    model: OriginalModel,
    vocab: OriginalVocabulary,
    jpeg_bytes: bytes,
    beam_size: int = 3,
    max_caption_length: int = 20,
    length_normalization_factor: float = 0.0,
) -> list[OriginalCaption]:
    """``CaptionGenerator.beam_search`` of the original (pre-2019, sort-based) code."""
    initial_state = model.feed_image(jpeg_bytes)
    partial_captions = _TopN(beam_size)
    partial_captions.push(
        _Caption(sentence=[vocab.start_id], state=initial_state[0], logprob=0.0, score=0.0)
    )
    complete_captions = _TopN(beam_size)

    for _ in range(max_caption_length - 1):
        partial_list = partial_captions.extract()
        partial_captions.reset()
        input_feed = np.array([c.sentence[-1] for c in partial_list])
        state_feed = np.array([c.state for c in partial_list])
        softmax, new_states = model.inference_step(input_feed, state_feed)

        for i, partial in enumerate(partial_list):
            # enumerate + stable sort by descending probability, keep the first beam_size.
            # (.tolist() gives the exact float32 values as Python floats: same order and ties.)
            words_and_probs = list(enumerate(softmax[i].tolist()))
            words_and_probs.sort(key=lambda wp: -wp[1])
            for w, p in words_and_probs[:beam_size]:
                if p < 1e-12:
                    continue  # avoid log(0)
                sentence = [*partial.sentence, w]
                logprob = partial.logprob + math.log(p)
                score = logprob
                if w == vocab.end_id:
                    if length_normalization_factor > 0:
                        score /= len(sentence) ** length_normalization_factor
                    complete_captions.push(_Caption(sentence, new_states[i], logprob, score))
                else:
                    partial_captions.push(_Caption(sentence, new_states[i], logprob, score))
        if partial_captions.size() == 0:
            break  # all beams ended

    # Only if no complete caption was found do the partial ones come back.
    if not complete_captions.size():
        complete_captions = partial_captions
    return [
        OriginalCaption(list(c.sentence), c.logprob, c.score)
        for c in complete_captions.extract(sort=True)
    ]


def format_original(
    captions: Iterable[OriginalCaption],
    vocab: OriginalVocabulary,
    filename: str | None = None,
) -> list[str]:
    """The lines run_inference.py printed: ``"  %d) %s (p=%f)"`` with ``sentence[1:-1]``.

    For partial captions (no </S>) this drops the last real word, exactly like the original.
    With ``filename`` the ``Captions for image <basename>:`` header line comes first.
    """
    lines = []
    if filename is not None:
        lines.append(f"Captions for image {os.path.basename(filename)}:")
    for i, caption in enumerate(captions):
        sentence = [vocab.id_to_word(w) for w in caption[0][1:-1]]
        # == "  %d) %s (p=%f)" % (i, " ".join(sentence), math.exp(caption.logprob))
        lines.append(f"  {i:d}) {' '.join(sentence)} (p={math.exp(caption[1]):f})")
    return lines


def caption_words(caption: OriginalCaption, vocab: OriginalVocabulary) -> list[str]:
    """All words of a caption: sentence[1:] minus a trailing </S> (keeps a partial's last word)."""
    ids = list(caption[0][1:])
    if ids and ids[-1] == vocab.end_id:
        ids = ids[:-1]
    return [vocab.id_to_word(w) for w in ids]


def caption_texts(captions: Iterable[OriginalCaption], vocab: OriginalVocabulary) -> list[str]:
    return [" ".join(caption_words(c, vocab)) for c in captions]
