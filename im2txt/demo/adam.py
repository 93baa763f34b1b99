"""Adam, the optimizer the demo model was trained with, and its learning-rate schedule."""

from __future__ import annotations

import math


class Adam:
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
