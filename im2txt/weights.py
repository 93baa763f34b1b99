"""The model's weights by original checkpoint name: their shapes and counts, in plain Python.

No TensorFlow here: checkpoints, bundles and downloads are checked against this table without
importing it. The Inception v3 trunk is written once against a small set of ops
(`inception_v3_trunk`), so that the same description both lists the weights (here, over channel
counts) and computes (model.py, over tensors).
"""

from __future__ import annotations

import math

from im2txt.config import ModelConfig

LSTM_KERNEL = "lstm/basic_lstm_cell/kernel"
LSTM_BIAS = "lstm/basic_lstm_cell/bias"
INCEPTION_SCOPE = "InceptionV3"
SMALL_CNN_SCOPE = "SmallCNN"

# --- Inception v3 trunk --------------------------------------------------------------------------
# slim's inception_v3_base up to Mixed_7c, written once against a small set of ops.


def inception_v3_trunk(ops, net):
    """[batch, 299, 299, 3] -> Mixed_7c [batch, 8, 8, 2048] (shapes for a 299x299 input)."""
    net = ops.conv(net, "Conv2d_1a_3x3", 32, 3, 3, stride=2, padding="VALID")  # 149x149x32
    net = ops.conv(net, "Conv2d_2a_3x3", 32, 3, 3, padding="VALID")  # 147x147x32
    net = ops.conv(net, "Conv2d_2b_3x3", 64, 3, 3)  # 147x147x64
    net = ops.max_pool(net)  # MaxPool_3a_3x3: 73x73x64
    net = ops.conv(net, "Conv2d_3b_1x1", 80, 1, 1, padding="VALID")  # 73x73x80
    net = ops.conv(net, "Conv2d_4a_3x3", 192, 3, 3, padding="VALID")  # 71x71x192
    net = ops.max_pool(net)  # MaxPool_5a_3x3: 35x35x192

    # 35x35 blocks -> 256, 288, 288 channels. Mixed_5c's Branch_1 carries slim's odd names.
    for block, pool_depth, b1_names in (
        ("Mixed_5b", 32, ("Conv2d_0a_1x1", "Conv2d_0b_5x5")),
        ("Mixed_5c", 64, ("Conv2d_0b_1x1", "Conv_1_0c_5x5")),
        ("Mixed_5d", 64, ("Conv2d_0a_1x1", "Conv2d_0b_5x5")),
    ):
        c = ops.scoped(block)
        b0 = c.conv(net, "Branch_0/Conv2d_0a_1x1", 64, 1, 1)
        b1 = c.conv(net, f"Branch_1/{b1_names[0]}", 48, 1, 1)
        b1 = c.conv(b1, f"Branch_1/{b1_names[1]}", 64, 5, 5)
        b2 = c.conv(net, "Branch_2/Conv2d_0a_1x1", 64, 1, 1)
        b2 = c.conv(b2, "Branch_2/Conv2d_0b_3x3", 96, 3, 3)
        b2 = c.conv(b2, "Branch_2/Conv2d_0c_3x3", 96, 3, 3)
        b3 = c.conv(c.avg_pool(net), "Branch_3/Conv2d_0b_1x1", pool_depth, 1, 1)
        net = c.concat(b0, b1, b2, b3)

    # Mixed_6a: 35x35 -> 17x17x768. Both "1x1"-named reduction convs are 3x3, stride 2.
    c = ops.scoped("Mixed_6a")
    b0 = c.conv(net, "Branch_0/Conv2d_1a_1x1", 384, 3, 3, stride=2, padding="VALID")
    b1 = c.conv(net, "Branch_1/Conv2d_0a_1x1", 64, 1, 1)
    b1 = c.conv(b1, "Branch_1/Conv2d_0b_3x3", 96, 3, 3)
    b1 = c.conv(b1, "Branch_1/Conv2d_1a_1x1", 96, 3, 3, stride=2, padding="VALID")
    net = c.concat(b0, b1, c.max_pool(net))

    # 17x17x768 blocks with factorised 7x7 convolutions.
    for block, depth in (
        ("Mixed_6b", 128),
        ("Mixed_6c", 160),
        ("Mixed_6d", 160),
        ("Mixed_6e", 192),
    ):
        c = ops.scoped(block)
        b0 = c.conv(net, "Branch_0/Conv2d_0a_1x1", 192, 1, 1)
        b1 = c.conv(net, "Branch_1/Conv2d_0a_1x1", depth, 1, 1)
        b1 = c.conv(b1, "Branch_1/Conv2d_0b_1x7", depth, 1, 7)
        b1 = c.conv(b1, "Branch_1/Conv2d_0c_7x1", 192, 7, 1)
        b2 = c.conv(net, "Branch_2/Conv2d_0a_1x1", depth, 1, 1)
        b2 = c.conv(b2, "Branch_2/Conv2d_0b_7x1", depth, 7, 1)
        b2 = c.conv(b2, "Branch_2/Conv2d_0c_1x7", depth, 1, 7)
        b2 = c.conv(b2, "Branch_2/Conv2d_0d_7x1", depth, 7, 1)
        b2 = c.conv(b2, "Branch_2/Conv2d_0e_1x7", 192, 1, 7)
        b3 = c.conv(c.avg_pool(net), "Branch_3/Conv2d_0b_1x1", 192, 1, 1)
        net = c.concat(b0, b1, b2, b3)

    # Mixed_7a: 17x17 -> 8x8x1280.
    c = ops.scoped("Mixed_7a")
    b0 = c.conv(net, "Branch_0/Conv2d_0a_1x1", 192, 1, 1)
    b0 = c.conv(b0, "Branch_0/Conv2d_1a_3x3", 320, 3, 3, stride=2, padding="VALID")
    b1 = c.conv(net, "Branch_1/Conv2d_0a_1x1", 192, 1, 1)
    b1 = c.conv(b1, "Branch_1/Conv2d_0b_1x7", 192, 1, 7)
    b1 = c.conv(b1, "Branch_1/Conv2d_0c_7x1", 192, 7, 1)
    b1 = c.conv(b1, "Branch_1/Conv2d_1a_3x3", 192, 3, 3, stride=2, padding="VALID")
    net = c.concat(b0, b1, c.max_pool(net))

    # 8x8x2048 blocks; the 1x3 and 3x1 outputs are concatenated, 1x3 first.
    for block, b1_3x1 in (("Mixed_7b", "Conv2d_0b_3x1"), ("Mixed_7c", "Conv2d_0c_3x1")):
        c = ops.scoped(block)
        b0 = c.conv(net, "Branch_0/Conv2d_0a_1x1", 320, 1, 1)
        b1 = c.conv(net, "Branch_1/Conv2d_0a_1x1", 384, 1, 1)
        b1 = c.concat(
            c.conv(b1, "Branch_1/Conv2d_0b_1x3", 384, 1, 3),
            c.conv(b1, f"Branch_1/{b1_3x1}", 384, 3, 1),
        )
        b2 = c.conv(net, "Branch_2/Conv2d_0a_1x1", 448, 1, 1)
        b2 = c.conv(b2, "Branch_2/Conv2d_0b_3x3", 384, 3, 3)
        b2 = c.concat(
            c.conv(b2, "Branch_2/Conv2d_0c_1x3", 384, 1, 3),
            c.conv(b2, "Branch_2/Conv2d_0d_3x1", 384, 3, 1),
        )
        b3 = c.conv(c.avg_pool(net), "Branch_3/Conv2d_0b_1x1", 192, 1, 1)
        net = c.concat(b0, b1, b2, b3)
    return net


class _ShapeOps:
    """Runs the trunk description over channel counts only, recording every conv's weights."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], prefix: str = INCEPTION_SCOPE) -> None:
        self.shapes = shapes
        self.prefix = prefix

    def scoped(self, block: str) -> _ShapeOps:
        return _ShapeOps(self.shapes, f"{self.prefix}/{block}")

    def conv(self, channels, name, depth, kh, kw, stride=1, padding="SAME"):
        scope = f"{self.prefix}/{name}"
        self.shapes[f"{scope}/weights"] = (kh, kw, channels, depth)
        for stat in ("beta", "moving_mean", "moving_variance"):
            self.shapes[f"{scope}/BatchNorm/{stat}"] = (depth,)
        return depth

    def max_pool(self, channels):
        return channels

    def avg_pool(self, channels):
        return channels

    def concat(self, *channels):
        return sum(channels)


def small_cnn_output_size(config: ModelConfig) -> tuple[int, int, int]:
    """[height, width, channels] of the demo encoder's last feature map (SAME, stride-2 convs)."""
    height, width = config.image_height, config.image_width
    for _ in config.encoder_filters:
        height, width = -(-height // 2), -(-width // 2)
    return height, width, config.encoder_filters[-1]


def weight_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every weight the model needs, by original checkpoint name, with its shape."""
    shapes: dict[str, tuple[int, ...]] = {}
    if config.encoder == "inception_v3":
        inception_v3_trunk(_ShapeOps(shapes), 3)
        image_features = 2048  # Mixed_7c channels after the 8x8 average pool
    elif config.encoder == "small_cnn":
        channels = 3
        for i, depth in enumerate(config.encoder_filters):
            shapes[f"{SMALL_CNN_SCOPE}/Conv{i}/weights"] = (3, 3, channels, depth)
            shapes[f"{SMALL_CNN_SCOPE}/Conv{i}/biases"] = (depth,)
            channels = depth
        image_features = int(math.prod(small_cnn_output_size(config)))
    else:
        raise ValueError(f"unknown encoder {config.encoder!r}")
    units, embedding = config.num_lstm_units, config.embedding_size
    shapes["image_embedding/weights"] = (image_features, embedding)  # no bias in the original
    shapes["seq_embedding/map"] = (config.vocab_size, embedding)
    # Fused gates [i | j | f | o]; rows 0..embedding-1 multiply the input, the rest h.
    shapes[LSTM_KERNEL] = (embedding + units, 4 * units)
    shapes[LSTM_BIAS] = (4 * units,)
    shapes["logits/weights"] = (units, config.vocab_size)
    shapes["logits/biases"] = (config.vocab_size,)
    return shapes


def count_parameters(config: ModelConfig) -> int:
    return sum(int(math.prod(shape)) for shape in weight_shapes(config).values())
