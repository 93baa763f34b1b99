"""Peak memory of `streamlit run app.py` serving a COCO-size model, driven by a real browser.

    python bench/bench_app_memory.py [--sessions 2]

Writes a COCO-size checkpoint (random weights in the original TF1 format, 149 MB) into a temporary
model folder, starts the app on it, and in headless Chromium opens the Image page in each session,
uploads the original demo's seed photos and waits for their captions (a second session with the
same photos is served from the results cache). Prints the server's resident memory (VmRSS) at
each stage and its peak (VmHWM), read from /proc/PID/status of the streamlit process.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from bench.bench_engine import make_checkpoint  # noqa: E402
from fixtures.browser import chromium_page, streamlit_server, wait_for_app, wait_for_heading  # noqa: E402
from tests.reference import original_im2txt as oi  # noqa: E402


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB of a process."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def streamlit_pid(port: str) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(command) and port.encode() in command:
                return int(entry.name)
    raise RuntimeError("streamlit process not found")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2, help="browser sessions (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "model"
        make_checkpoint(models / "coco")
        photos = []
        for name in oi.seed_image_names():
            path = Path(tmp) / name
            path.write_bytes(oi.seed_image_bytes(name))
            photos.append(str(path))
        log = Path(tmp) / "streamlit.log"
        with streamlit_server(log, env={"IM2TXT_MODEL_DIR": str(models)}) as url:
            pid = streamlit_pid(url.rsplit(":", 1)[1])
            print(f"server started:            RSS {memory(pid)[0]:6.0f} MB")
            for session in range(args.sessions):
                with chromium_page() as page:
                    page.goto(url)
                    wait_for_app(page)
                    page.get_by_role("link", name="Image").first.click()
                    wait_for_heading(page, "Caption images", timeout_ms=180_000)
                    started = time.perf_counter()
                    upload = page.locator('[data-testid="stFileUploader"] input[type="file"]')
                    upload.set_input_files(photos)
                    page.locator(f".st-key-result-{len(photos) - 1} strong").wait_for(
                        timeout=180_000
                    )
                    seconds = time.perf_counter() - started
                    rss, _ = memory(pid)
                    print(f"session {session + 1}: {len(photos)} photos captioned in "
                          f"{seconds:4.1f} s: RSS {rss:6.0f} MB")  # fmt: skip
            rss, peak = memory(pid)
            print(f"after {args.sessions} sessions:        RSS {rss:6.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
