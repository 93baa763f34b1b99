"""The demo model's trainable network: weights as variables, initial values, labels, losses."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from im2txt.config import ModelConfig
from im2txt.demo.scene_grammar import caption_vocabulary
from im2txt.demo.values import COLOURS, SHAPES, SIZES, SceneObject
from im2txt.vocabulary import END_WORD, START_WORD
from im2txt.weights import (
    LSTM_BIAS,
    LSTM_KERNEL,
    SMALL_CNN_SCOPE,
    small_cnn_output_size,
    weight_shapes,
)


def initial_weights(config: ModelConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Starting weights by checkpoint name: He-normal convs, Glorot-uniform matrices, zero biases,
    and the original's uniform(-0.08, 0.08) for the word embeddings."""
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


def object_labels(objects: Sequence[SceneObject]) -> np.ndarray:
    """[NUM_LABELS] 0/1: which (colour, shape, size) the scene holds, for the encoder's stage."""
    labels = np.zeros(NUM_LABELS, np.float32)
    for obj in objects:
        labels[_label(obj.colour, obj.shape, obj.size)] = 1.0
    return labels


NUM_LABELS = len(COLOURS) * len(SHAPES) * len(SIZES)


def _label(colour: str, shape: str, size: str) -> int:
    c, s = list(COLOURS).index(colour), SHAPES.index(shape)
    return (c * len(SHAPES) + s) * len(SIZES) + SIZES.index(size)


class Network:
    """The model's weights as trainable variables under their checkpoint names, the encoder
    stage's two classifier heads (not exported), and the two stages' losses."""

    def __init__(
        self, config: ModelConfig, weights: dict[str, np.ndarray], rng: np.random.Generator
    ) -> None:
        import tensorflow as tf

        self.config = config
        self.model_names = sorted(weights)
        channels = small_cnn_output_size(config)[2]
        pooled_labels = len(COLOURS) + len(SHAPES) * (1 + len(SIZES))
        head = {
            HEAD_WEIGHTS: _glorot(rng, (channels, pooled_labels)).astype(np.float32),
            HEAD_BIASES: np.zeros(pooled_labels, np.float32),
            EMBEDDING_HEAD_WEIGHTS: _glorot(rng, (config.embedding_size, NUM_LABELS)).astype(
                np.float32
            ),
            EMBEDDING_HEAD_BIASES: np.zeros(NUM_LABELS, np.float32),
        }
        # image_embedding/weights [h * w * channels, E] is trained as shared + positional: one
        # [channels, E] map applied at every position of the flattened map (so that it learns
        # from every object wherever it is), plus a per-position part, starting at 0, for what
        # depends on where. Exported as their sum: the model's maths are unchanged.
        self.positions = int(np.prod(small_cnn_output_size(config)[:2]))
        trained = {n: w for n, w in weights.items() if n != IMAGE_EMBEDDING}
        trained[SHARED_EMBEDDING] = (
            _glorot(rng, (channels, config.embedding_size)) / self.positions
        ).astype(np.float32)
        trained[POSITIONAL_EMBEDDING] = np.zeros_like(weights[IMAGE_EMBEDDING])
        self.variables = {
            name: tf.Variable(value, name=name.replace("/", "_"))
            for name, value in sorted({**trained, **head}.items())
        }
        self.encoder_names = [n for n in self.model_names if n.startswith(SMALL_CNN_SCOPE)]
        self.embedding_names = [SHARED_EMBEDDING, POSITIONAL_EMBEDDING]
        self.decoder_names = [
            n for n in self.model_names if n not in self.encoder_names and n != IMAGE_EMBEDDING
        ]

    def weights(self) -> dict[str, np.ndarray]:
        """The model's weights under their checkpoint names (the heads left out)."""
        weights = {
            name: self.variables[name].numpy()
            for name in self.model_names
            if name != IMAGE_EMBEDDING
        }
        weights[IMAGE_EMBEDDING] = self.image_embedding().numpy()
        return weights

    def image_embedding(self):
        """[h * w * channels, embedding_size]: shared map tiled over positions + positional."""
        import tensorflow as tf

        shared = self.variables[SHARED_EMBEDDING]
        return tf.tile(shared, [self.positions, 1]) + self.variables[POSITIONAL_EMBEDDING]

    def features(self, images):
        """[batch, h, w, 3] -> [batch, image features], model.small_cnn_features."""
        from im2txt.model import small_cnn_features

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

        v = self.variables
        height, width, channels = small_cnn_output_size(self.config)
        features = self.features(images)
        grid = tf.reshape(features, [-1, height, width, channels])
        pooled = tf.reduce_max(grid, axis=[1, 2])  # [batch, channels]
        logits = tf.matmul(pooled, v[HEAD_WEIGHTS]) + v[HEAD_BIASES]
        joint = tf.reshape(
            labels,
            [-1, len(COLOURS), len(SHAPES), len(SIZES)],
        )
        factored = tf.concat(
            [
                tf.reduce_max(joint, axis=[2, 3]),
                tf.reduce_max(joint, axis=[1, 3]),
                tf.reshape(
                    tf.reduce_max(joint, axis=1),
                    [-1, len(SHAPES) * len(SIZES)],
                ),
            ],
            axis=1,
        )
        embedding = tf.matmul(features, self.image_embedding())
        from_embedding = tf.matmul(embedding, v[EMBEDDING_HEAD_WEIGHTS]) + v[EMBEDDING_HEAD_BIASES]
        return tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(factored, logits)
        ) + tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, from_embedding))

    def caption_loss(self, images, inputs, targets, mask):
        """Teacher forcing as in the original: the image embedding through the LSTM first (output
        discarded), then inputs [batch, time] predicting targets [batch, time]; the mean
        cross-entropy over the words where mask [batch, time] is 1."""
        import tensorflow as tf

        from im2txt.model import lstm_cell

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


IMAGE_EMBEDDING = "image_embedding/weights"


SHARED_EMBEDDING = "image_embedding/shared"


POSITIONAL_EMBEDDING = "image_embedding/positional"


HEAD_WEIGHTS = "encoder_head/weights"


HEAD_BIASES = "encoder_head/biases"


EMBEDDING_HEAD_WEIGHTS = "embedding_head/weights"


EMBEDDING_HEAD_BIASES = "embedding_head/biases"


def demo_words() -> list[str]:
    """The demo vocabulary in id order: <S>, </S>, then every word of the caption grammar."""
    return [START_WORD, END_WORD, *caption_vocabulary()]


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
