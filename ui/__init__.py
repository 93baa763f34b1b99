"""Streamlit glue shared by the pages: the only code importing both streamlit and im2txt.

models (the cached loader, the sidebar), fetch and settings (the operator's COCO download),
controls (shared widgets), images and clips (the Image and Video pages' work and rendering).
"""

import os

# Before TensorFlow is first imported (by the model loader): keep its C++ info logs quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
