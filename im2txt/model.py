"""The Show and Tell network in TensorFlow 2: encoder, image_embedding, seq_embedding, LSTM, logits.

Maths only, no files: weights come in as a {name: array} dict under the original checkpoint names
(TF >= 1.2 spelling). The two-call contract of the original inference wrapper is kept:
``feed_image(images) -> state`` and ``inference_step(input_feed, state_feed) -> (softmax, state)``,
where a state is concat(c, h) of the LSTM, [batch, 2 * num_lstm_units].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

from im2txt.config import ModelConfig
from im2txt.weights import (
    INCEPTION_SCOPE,
    LSTM_BIAS,
    LSTM_KERNEL,
    SMALL_CNN_SCOPE,
    inception_v3_trunk,
    weight_shapes,
)


class _TensorOps:
    """Runs the trunk description with TensorFlow, op for op as slim built it.

    conv (no bias) -> FusedBatchNorm in inference mode (no gamma) -> ReLU: the same ops as the
    original graph, so TensorFlow's graph optimizer fuses them the same way and the features come
    out bit-identical to the original's (folding the batch norm into the conv weights by hand is
    the same maths but rounds differently, and a deep random-weight net amplifies that to 1e-4).
    """

    def __init__(self, variables: Mapping[str, tf.Tensor], prefix: str, epsilon: float) -> None:
        self.variables = variables
        self.prefix = prefix
        self.epsilon = epsilon

    def scoped(self, block: str) -> _TensorOps:
        return _TensorOps(self.variables, f"{self.prefix}/{block}", self.epsilon)

    def conv(self, net, name, depth, kh, kw, stride=1, padding="SAME"):
        scope = f"{self.prefix}/{name}"
        net = tf.nn.conv2d(net, self.variables[f"{scope}/weights"], strides=stride, padding=padding)
        net, _, _ = tf.compat.v1.nn.fused_batch_norm(
            net,
            scale=tf.ones([depth], tf.float32),  # scale=False in slim: no gamma
            offset=self.variables[f"{scope}/BatchNorm/beta"],
            mean=self.variables[f"{scope}/BatchNorm/moving_mean"],
            variance=self.variables[f"{scope}/BatchNorm/moving_variance"],
            epsilon=self.epsilon,
            is_training=False,
        )
        return tf.nn.relu(net)

    def max_pool(self, net):
        return tf.nn.max_pool2d(net, ksize=3, strides=2, padding="VALID")

    def avg_pool(self, net):
        # SAME average pooling in TF counts only the cells inside the image, like slim's.
        return tf.nn.avg_pool2d(net, ksize=3, strides=1, padding="SAME")

    def concat(self, *nets):
        return tf.concat(nets, axis=3)


# --- the model -----------------------------------------------------------------------------------


class ShowAndTellModel:
    """The inference network; thread-safe to call once built (all state is in the arguments)."""

    def __init__(
        self, config: ModelConfig, weights: Mapping[str, np.ndarray], variables: bool = False
    ) -> None:
        """Build from {original name: array}; each array is read once (weights may be lazy).

        The weights are held as constant tensors, captured by the graphs: that loads in half the
        time of tf.Variables and computes the same bits. variables=True makes tf.Variables, which
        a SavedModel needs (export.py).
        """
        self.config = config
        expected = weight_shapes(config)
        missing = sorted(set(expected) - set(weights))
        if missing:
            raise ValueError(f"bad weights: missing {missing}")
        # One tensor per weight, made as each array is read, so that a lazy mapping (a
        # checkpoint reader) never holds more than one array besides the tensors.
        self._variables: dict[str, tf.Tensor | tf.Variable] = {}
        for name, shape in expected.items():
            value = np.asarray(weights[name], dtype=np.float32)
            if value.shape != shape:
                raise ValueError(f"bad weights: {name} is {list(value.shape)}, not {list(shape)}")
            self._variables[name] = (
                tf.Variable(value, trainable=False, name=name.replace("/", "_"))
                if variables
                else tf.constant(value)
            )
            del value
        v = self._variables
        self._encode: Callable[[tf.Tensor], tf.Tensor]
        if config.encoder == "inception_v3":
            self._encode = self._inception_v3_features
        else:
            self._convs = [
                (v[f"{SMALL_CNN_SCOPE}/Conv{i}/weights"], v[f"{SMALL_CNN_SCOPE}/Conv{i}/biases"])
                for i in range(len(config.encoder_filters))
            ]
            self._encode = self._small_cnn_features
        self._image_embedding = v["image_embedding/weights"]
        self._seq_embedding = v["seq_embedding/map"]
        self._lstm_kernel = v[LSTM_KERNEL]
        self._lstm_bias = v[LSTM_BIAS]
        self._logits_weights = v["logits/weights"]
        self._logits_biases = v["logits/biases"]

        units = config.num_lstm_units
        image_spec = tf.TensorSpec([None, config.image_height, config.image_width, 3], tf.float32)
        # autograph=False: the graphs have no Python control flow to convert, and AutoGraph's
        # source rewriting was most of the first call's time (~1 s of tracing for the encoder).
        self._feed_image = tf.function(
            self.feed_image_graph, input_signature=[image_spec], autograph=False
        )
        self._inference_step = tf.function(
            self.inference_step_graph,
            input_signature=[
                tf.TensorSpec([None], tf.int64),
                tf.TensorSpec([None, 2 * units], tf.float32),
            ],
            autograph=False,
        )

    @property
    def variables(self) -> list[tf.Variable]:
        """The weights as tf.Variables (only when built with variables=True)."""
        return [v for v in self._variables.values() if isinstance(v, tf.Variable)]

    @property
    def state_size(self) -> int:
        return 2 * self.config.num_lstm_units

    def trace(self) -> None:
        """Build feed_image's graph now (it is optimised at its first run)."""
        self._feed_image.get_concrete_function()

    def feed_image(self, images: np.ndarray) -> np.ndarray:
        """Images [batch, image_height, image_width, 3] in [-1, 1] -> states [batch, state_size]."""
        return self._feed_image(tf.convert_to_tensor(images, tf.float32)).numpy()

    def inference_step(
        self, input_feed: np.ndarray, state_feed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Previous word ids [batch] and states [batch, state_size] -> (softmax, new states)."""
        softmax, state = self._inference_step(
            tf.convert_to_tensor(input_feed, tf.int64), tf.convert_to_tensor(state_feed, tf.float32)
        )
        return softmax.numpy(), state.numpy()

    # The same two calls as graph ops, for use inside a tf.function (the graph beam search, the
    # exported model).

    def feed_image_graph(self, images: tf.Tensor) -> tf.Tensor:
        """Images [batch, image_height, image_width, 3] -> states [batch, state_size]."""
        features = self._encode(images)  # [batch, image features]
        embedding = tf.matmul(features, self._image_embedding)  # [batch, embedding_size]
        zeros = tf.zeros([tf.shape(images)[0], self.config.num_lstm_units], tf.float32)
        # The image goes through the cell once from the zero state; its output is discarded.
        c, h = self._lstm_cell(embedding, zeros, zeros)
        return tf.concat([c, h], axis=1)  # [batch, 2 * num_lstm_units]

    def inference_step_graph(
        self, input_feed: tf.Tensor, state_feed: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Word ids int64 [batch] and states [batch, state_size] -> (softmax, new states)."""
        embedding = tf.gather(self._seq_embedding, input_feed)  # [batch, embedding_size]
        c, h = tf.split(state_feed, 2, axis=1)
        c, h = self._lstm_cell(embedding, c, h)
        logits = tf.nn.bias_add(tf.matmul(h, self._logits_weights), self._logits_biases)
        return tf.nn.softmax(logits), tf.concat([c, h], axis=1)

    def _lstm_cell(self, x: tf.Tensor, c: tf.Tensor, h: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return lstm_cell(x, c, h, self._lstm_kernel, self._lstm_bias, self.config.forget_bias)

    def _inception_v3_features(self, images: tf.Tensor) -> tf.Tensor:
        ops = _TensorOps(self._variables, INCEPTION_SCOPE, self.config.batch_norm_epsilon)
        net = inception_v3_trunk(ops, images)
        # slim's "logits" scope of im2txt: average over the whole final map (8x8), VALID, flatten.
        pooled = tf.nn.avg_pool2d(net, ksize=net.shape[1:3], strides=1, padding="VALID")
        return tf.reshape(pooled, [-1, net.shape[3]])  # [batch, 2048]

    def _small_cnn_features(self, images: tf.Tensor) -> tf.Tensor:
        return small_cnn_features(images, self._convs)


def lstm_cell(x, c, h, kernel, bias, forget_bias: float = 1.0):
    """BasicLSTMCell: gates i, j, f, o from one fused matmul; forget bias added at run time.

    x [batch, embedding_size], c and h [batch, num_lstm_units], kernel [embedding + units,
    4 * units] (rows for x first, then h), bias [4 * units] -> (c, h).
    """
    z = tf.nn.bias_add(tf.matmul(tf.concat([x, h], axis=1), kernel), bias)
    i, j, f, o = tf.split(z, 4, axis=1)
    c = c * tf.sigmoid(f + forget_bias) + tf.sigmoid(i) * tf.tanh(j)
    h = tf.tanh(c) * tf.sigmoid(o)
    return c, h


def small_cnn_features(images, convs):
    """The demo encoder: 3x3 stride-2 SAME convs with bias and ReLU, flattened (not pooled:
    where a shape is matters for "to the left of"). convs = [(kernel, bias), ...]."""
    net = images
    for kernel, bias in convs:
        net = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(net, kernel, 2, "SAME"), bias))
    return tf.reshape(net, [-1, int(np.prod(net.shape[1:]))])  # [batch, h * w * channels]
