"""Independent reference of the original TF1 im2txt inference (for parity tests and benchmarks).

Not part of the shipped package: it rebuilds the original graph with tf.compat.v1 + tf_slim so the
TF2 port can be compared against it. See ``original_im2txt.py``.
"""
