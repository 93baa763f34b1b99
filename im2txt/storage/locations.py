"""Where models live: the models folder (downloads go there) and the demo model shipped inside.

The models folder is, in order:
1. $IM2TXT_MODEL_DIR, when set;
2. `model/` of a source checkout, when the package runs from one (a clone, or `pip install -e`);
3. the per-user data folder, when the package is installed: `~/.local/share/im2txt/models` on
   Linux ($XDG_DATA_HOME is honoured), `~/Library/Application Support/im2txt/models` on macOS,
   `%LOCALAPPDATA%\\im2txt\\models` on Windows.
The demo model is package data (`im2txt/demo/model`), found wherever the package is installed; a
`demo/` folder in the models folder takes its place.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

MODEL_DIR_ENV = "IM2TXT_MODEL_DIR"
# Where a COCO checkpoint goes by default; any other sub-folder of the models folder is looked at.
COCO_FOLDER = "coco"
DEMO_FOLDER = "demo"
SHIPPED_DEMO = Path(__file__).resolve().parent.parent / "demo" / "model"
# The folder holding the im2txt package: a checkout's top level, or site-packages.
_TOP = Path(__file__).resolve().parents[2]


def model_root() -> Path:
    """The models folder (see the module docstring); it need not exist yet."""
    override = os.environ.get(MODEL_DIR_ENV)
    if override:
        return Path(override).expanduser()
    if (_TOP / "pyproject.toml").is_file() and (_TOP / "model").is_dir():
        return _TOP / "model"
    return platformdirs.user_data_path("im2txt", appauthor=False) / "models"


def coco_destination() -> Path:
    """Where a downloaded COCO model is installed: the folder the default lookup tries first."""
    return model_root() / COCO_FOLDER
