"""The server settings in .streamlit/config.toml, as Streamlit itself reads them in the checkout."""

from __future__ import annotations

import json
import subprocess
import sys

from fixtures.paths import REPO

_READ = """
import json
from streamlit import config
config.get_config_options(force_reparse=True)
print(json.dumps({name: config.get_option(name) for name in NAMES}))
"""


def streamlit_options(*names: str) -> dict:
    """The options as `streamlit run app.py` in the checkout sees them (a fresh process: the
    config is global to Streamlit)."""
    code = f"NAMES = {names!r}\n{_READ}"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_no_file_watcher():
    """Issue 22: with the README's .venv inside the checkout, the watcher filled the log with
    "Inotify queue overflowed" (10,941 lines in 30 minutes). The app is not edited while served."""
    options = streamlit_options("server.fileWatcherType", "server.runOnSave")
    assert options == {"server.fileWatcherType": "none", "server.runOnSave": False}
