"""Peak memory of the app serving a COCO-size model while one session uploads the worst case of
each kind of hostile input: the largest file of the kind within the pixel limit.

    python bench/bench_upload_memory.py [--limit-mp 65] [--kinds rgba.png,photo.jpg,...]

Writes a COCO-size checkpoint (random weights, original TF1 format), starts `streamlit run app.py`
on it, captions one small photo (the model loaded and traced: the baseline), then for each kind, in
headless Chromium, uploads its file on the Image or Video page and waits for its result or its
error line. Before each upload the server's peak RSS (VmHWM) is reset (/proc/PID/clear_refs), so
each row is that upload's own peak. Prints a table with the bound.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bench.bench_app_memory import memory, streamlit_pid  # noqa: E402
from bench.bench_engine import make_checkpoint  # noqa: E402
from fixtures.browser import chromium_page, streamlit_server, wait_for_app  # noqa: E402
from fixtures.hostile import _blank_png  # noqa: E402
from im2txt.image_loading import DEFAULT_MAX_PIXELS  # noqa: E402
from im2txt.video.ffmpeg import ffmpeg_exe  # noqa: E402

# The server may use at most this much for one upload of any kind: Community Cloud's machines
# have ~2.7 GB; this leaves 700 MB for Streamlit's own sessions and the operating system.
BOUND_MB = 2000


def side(limit: int, aspect: float = 1.0) -> tuple[int, int]:
    """The largest width x height of this aspect within `limit` pixels."""
    height = int((limit / aspect) ** 0.5)
    return int(limit // height), height


def pillow_file(path: Path, mode: str, size: tuple[int, int], fill, fmt: str, **options) -> None:
    Image.new(mode, size, fill).save(path, fmt, **options)


def noise_jpeg(path: Path, size: tuple[int, int]) -> None:
    """A photo-like JPEG (noise compresses badly: the file is large, as a camera's is)."""
    width, height = size
    tile = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), np.uint8)
    pixels = np.tile(tile, (height // 1024 + 1, width // 1024 + 1, 1))[:height, :width]
    Image.fromarray(pixels).save(path, "JPEG", quality=90)


def clip(path: Path, *options: str, size: str, seconds: float, rate: int = 25) -> None:
    source = f"testsrc2=size={size}:rate={rate}:duration={seconds}"
    command = [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", source, *options, str(path)]
    subprocess.run(command, check=True)


def kinds(folder: Path, limit: int) -> list[tuple[str, str, Path, str]]:
    """(kind, page, file, what the file is) for every kind, written into folder."""
    square = side(limit)
    made = []

    def add(kind: str, page: str, name: str, what: str, write) -> None:
        path = folder / name
        if not path.exists():
            write(path)
        made.append((kind, page, path, what))

    add("RGBA PNG", "image", "rgba.png", f"{square[0]}x{square[1]}",
        lambda p: p.write_bytes(_blank_png(*square, colour=6)))  # fmt: skip
    deflate = {"compression": "tiff_deflate"}
    add("16-bit grey TIFF", "image", "grey16.tif", f"{square[0]}x{square[1]} I;16",
        lambda p: pillow_file(p, "I;16", square, 1000, "TIFF", **deflate))  # fmt: skip
    add("float TIFF", "image", "float.tif", f"{square[0]}x{square[1]} F",
        lambda p: pillow_file(p, "F", square, 0.5, "TIFF", **deflate))  # fmt: skip
    add("JPEG (photo)", "image", "photo.jpg", f"{square[0]}x{square[1]}",
        lambda p: noise_jpeg(p, square))  # fmt: skip
    add("CMYK JPEG", "image", "cmyk.jpg", f"{square[0]}x{square[1]}",
        lambda p: pillow_file(p, "CMYK", square, (10, 200, 30, 5), "JPEG"))  # fmt: skip
    add("palette GIF", "image", "palette.gif", f"{square[0]}x{square[1]}",
        lambda p: pillow_file(p, "P", square, 3, "GIF"))  # fmt: skip
    add("100000x1 PNG", "image", "line.png", "100000x1",
        lambda p: p.write_bytes(_blank_png(100_000, 1)))  # fmt: skip
    add("over the limit (header)", "image", "huge.png", "40000x40000 claimed",
        lambda p: p.write_bytes(_blank_png(40_000, 40_000)[:200]))  # fmt: skip
    add("VP9 gbrp WebM, 4K", "video", "gbrp.webm", "3840x2160, 2 s",
        lambda p: clip(p, "-c:v", "libvpx-vp9", "-pix_fmt", "gbrp", "-deadline", "realtime",
                       "-cpu-used", "8", size="3840x2160", seconds=2))  # fmt: skip
    add("H.264 RGB (libx264rgb), 4K", "video", "rgb.mp4", "3840x2160, 2 s",
        lambda p: clip(p, "-c:v", "libx264rgb", "-preset", "ultrafast", size="3840x2160",
                       seconds=2))  # fmt: skip
    add("raw video AVI, 190 MB", "video", "raw.avi", "1920x1080 yuv420p, 2.5 s",
        lambda p: clip(p, "-c:v", "rawvideo", "-pix_fmt", "yuv420p", size="1920x1080",
                       seconds=2.52))  # fmt: skip
    return made


CLI = """
import sys
from im2txt import cli
status = cli.main(["caption", "--model", {model!r}, {path!r}])
peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
print(f"PEAK {{peak:.0f}} {{status}}")
"""


def cli_peak(model: Path, path: Path) -> tuple[float, int, str]:
    """Peak RSS (MB), exit status and last stderr line of `python -m im2txt caption` on a file."""
    code = CLI.format(model=str(model), path=str(path))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=os.environ
    )
    _, peak, status = result.stdout.strip().splitlines()[-1].split()
    return float(peak), int(status), result.stderr.strip().splitlines()[-1]


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # "5": reset the peak RSS to the current


def upload(page, url: str, kind_page: str, path: Path) -> str:
    """Upload on the page, wait for the outcome; "shown" or the error line."""
    page.goto(f"{url}/{kind_page}")
    wait_for_app(page, timeout_ms=120_000)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    if kind_page == "image":
        box = page.locator(".st-key-result-0")
        box.wait_for(timeout=600_000)
    else:
        button = page.get_by_role("button", name="Caption video")
        button.wait_for(timeout=600_000)
        wait_for_app(page, timeout_ms=120_000)
        button.click()
        box = page.get_by_text(f"{path.name}: ").first
        box.wait_for(timeout=600_000)
    wait_for_app(page, timeout_ms=600_000)
    alert = page.locator('[data-testid="stAlert"]')
    return alert.first.inner_text().strip() if alert.count() else "shown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limit-mp", type=float, default=DEFAULT_MAX_PIXELS / 1e6, help="the pixel limit, MP"
    )
    parser.add_argument("--work", type=Path, help="keep the files here (default: temporary)")
    parser.add_argument("--kinds", help="comma-separated file names to run (default: all)")
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line table")
    args = parser.parse_args()
    limit = int(args.limit_mp * 1e6)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        models = work / "model"
        if not (models / "coco" / "word_counts.txt").exists():
            make_checkpoint(models / "coco")
        files = (
            kinds(work / "files", limit) if (work / "files").mkdir(exist_ok=True) is None else []
        )
        if args.kinds:
            files = [f for f in files if f[2].name in args.kinds.split(",")]
        photo = work / "photo-small.png"
        Image.fromarray(np.full((480, 640, 3), 120, np.uint8)).save(photo)
        env = {"IM2TXT_MODEL_DIR": str(models), "IM2TXT_MAX_PIXELS": str(limit)}
        log = work / "streamlit.log"
        with streamlit_server(log, env=env, timeout=180) as url, chromium_page() as page:
            pid = streamlit_pid(url.rsplit(":", 1)[1])
            upload(page, url, "image", photo)  # the model loaded and traced
            baseline = memory(pid)[0]
            print(f"COCO-size model, pixel limit {limit / 1e6:g} MP; server after loading the "
                  f"model and captioning one photo: RSS {baseline:,.0f} MB\n")  # fmt: skip
            print("| kind | file | size | outcome | seconds | peak RSS | RSS after | bound |")
            print("|---|---|---|---|---|---|---|---|")
            worst = 0.0
            for kind, kind_page, path, what in files:
                reset_peak(pid)
                started = time.perf_counter()
                outcome = upload(page, url, kind_page, path)
                seconds = time.perf_counter() - started
                rss, peak = memory(pid)
                worst = max(worst, peak)
                cell = "captioned, shown" if outcome == "shown" else f"refused: {outcome}"
                if kind_page == "video" and outcome == "shown":
                    cell = "rendered, shown"
                mark = "ok" if peak <= BOUND_MB else "OVER"
                size = f"{path.stat().st_size / 1e6:,.1f} MB"
                print(f"| {kind} | {what} | {size} | {cell[:70]} | {seconds:.0f} | "
                      f"{peak:,.0f} MB | {rss:,.0f} MB | {BOUND_MB:,} MB {mark} |",
                      flush=True)  # fmt: skip
            print(f"\nworst peak {worst:,.0f} MB against the bound of {BOUND_MB:,} MB")
        if not args.no_cli:
            os.environ["IM2TXT_MAX_PIXELS"] = str(limit)
            print("\n`python -m im2txt caption --model <COCO-size> FILE`, a fresh process each:\n")
            print("| kind | file | peak RSS | exit status |")
            print("|---|---|---|---|")
            for kind, kind_page, path, what in files:
                if kind_page == "image":
                    peak, status, last = cli_peak(models / "coco", path)
                    exit_status = f"{status}" + (f" ({last[:60]})" if status else "")
                    print(f"| {kind} | {what} | {peak:,.0f} MB | {exit_status} |", flush=True)


if __name__ == "__main__":
    main()
