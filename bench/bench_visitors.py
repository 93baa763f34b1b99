"""Many visitors at once: headless Chromium visitors against one `streamlit run app.py`.

    python bench/bench_visitors.py                      # every scenario, this checkout
    python bench/bench_visitors.py --repo ../other      # the same against another checkout
    python bench/bench_visitors.py --scenarios 8p 2p+6v

One server per scenario, warmed up by one visitor captioning one photo, with a COCO-size
checkpoint (random but lively weights in the original TF1 format, the real vocabulary:
bench_engine.make_checkpoint) as its model. Visitors are pages of one headless Chromium (Debian's
/usr/bin/chromium), one browser context each, driven together
by Playwright's async API; all upload at the same moment. A photo visitor opens the Image page and
uploads 2 JPEGs (time: from the upload to both result cards on screen); a video visitor opens the
Video page, uploads a 30 s 1280x720 clip with audio (ffmpeg's testsrc2) and presses Caption video
(time: from the press to the captioned clip's player on screen). The server's peak memory is its
process and children's resident size, sampled every 50 ms. An error is a visitor that saw an
exception, an error line, or no result within 5 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_engine import bench_images, make_checkpoint  # noqa: E402
from bench.servers import free_port, wait_until_answers  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCENARIOS = {"1p": (1, 0), "8p": (8, 0), "1v": (0, 1), "8p+2v": (8, 2), "2p+6v": (2, 6)}
RESULT_TIMEOUT_MS = 300_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose app runs")
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_checkpoint(folder / "models" / "coco")
        photos = []
        for i, data in enumerate(bench_images(16)):
            photos.append(folder / f"photo{i}.jpg")
            photos[-1].write_bytes(data)
        clip = folder / "clip.mp4"
        make_clip(clip)
        rows = []
        for name in args.scenarios:
            rows.append((name, *run_scenario(args.repo.resolve(), folder, photos, clip, name)))
    print(f"\n{args.repo.resolve()}: COCO-size model, visitors in headless Chromium at once")
    print(f"{'scenario':10s} {'photo visitors (s)':>26s} {'video visitors (s)':>26s} "
          f"{'errors':>7s} {'peak RSS':>9s}")  # fmt: skip
    print(f"{'':10s} {'median   p95    max':>26s} {'median   p95    max':>26s}")
    for name, photo, video, errors, peak in rows:
        print(f"{name:10s} {spread(photo):>26s} {spread(video):>26s} {errors:7d} "
              f"{peak / 2**20:7.0f} MB")  # fmt: skip


def spread(times: list[float]) -> str:
    if not times:
        return "—"
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):6.1f} {p95:6.1f} {ordered[-1]:6.1f}"


def make_clip(path: Path) -> None:
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=30",
         "-f", "lavfi", "-i", "sine=duration=30", "-c:a", "aac",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest", str(path)],
        check=True,
    )  # fmt: skip


def run_scenario(repo: Path, folder: Path, photos: list[Path], clip: Path, name: str):
    photo_visitors, video_visitors = SCENARIOS[name]
    port = free_port()
    env = {**os.environ, "IM2TXT_MODEL_DIR": str(folder / "models")}
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    log = open(folder / f"{name}.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(command, cwd=repo, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    peak = [0]
    stop = threading.Event()
    try:
        wait_until_answers(f"{url}/_stcore/health", timeout=120)
        sampler = threading.Thread(target=sample_rss, args=(server.pid, peak, stop))
        sampler.start()
        results = asyncio.run(visit(url, photos, clip, photo_visitors, video_visitors))
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)
        log.close()
    photo = [t for kind, t in results if kind == "photo" and t is not None]
    video = [t for kind, t in results if kind == "video" and t is not None]
    errors = sum(t is None for _, t in results)
    return photo, video, errors, peak[0]


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(x.split()[1]) * 1024 for x in status if x.startswith("VmRSS:"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except (OSError, StopIteration):
            continue
    return total


def sample_rss(pid: int, peak: list[int], stop: threading.Event) -> None:
    while not stop.wait(0.05):
        peak[0] = max(peak[0], tree_rss(pid))


async def visit(url, photos, clip, photo_visitors, video_visitors):
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            # The model loads, and a first photo is captioned, before the visitors come: a shared
            # server has been running for a while.
            warm = await browser.new_page()
            await open_page(warm, f"{url}/image", "Caption images")
            ready = asyncio.Event()
            ready.set()
            if await photo_visitor(warm, photos[:1], ready) is None:
                raise RuntimeError("the warm-up visitor got no captions")
            await warm.close()
            pages = []
            for i in range(photo_visitors + video_visitors):
                context = await browser.new_context(viewport={"width": 1366, "height": 900})
                page = await context.new_page()
                kind = "photo" if i < photo_visitors else "video"
                path = "image" if kind == "photo" else "video"
                heading = "Caption images" if kind == "photo" else "Caption a video"
                await open_page(page, f"{url}/{path}", heading)
                pages.append((kind, page, i))
            start = asyncio.Event()
            jobs = [
                photo_visitor(p, photos[2 * i % 16 : 2 * i % 16 + 2], start)
                if kind == "photo"
                else video_visitor(p, clip, start)
                for kind, p, i in pages
            ]
            tasks = [asyncio.create_task(job) for job in jobs]
            # The last pages opened finish loading (scripts, fonts, a first render: a core of
            # Chromium for a second or two) before the visitors act together.
            await asyncio.sleep(3.0)
            start.set()
            times = await asyncio.gather(*tasks)
            return [(kind, t) for (kind, _, _), t in zip(pages, times, strict=True)]
        finally:
            await browser.close()


async def open_page(page, url: str, heading: str) -> None:
    await page.goto(url)
    await page.locator("h1", has_text=heading).first.wait_for(timeout=RESULT_TIMEOUT_MS)


async def photo_visitor(page, photos: list[Path], start: asyncio.Event) -> float | None:
    await start.wait()
    began = time.perf_counter()
    try:
        await page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            [str(p) for p in photos]
        )
        cards = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stImage"]')
        await page.wait_for_function(
            "n => document.querySelectorAll("
            '\'[data-testid="stMainBlockContainer"] [data-testid="stImage"]\').length >= n',
            arg=len(photos),
            timeout=RESULT_TIMEOUT_MS,
        )
        seconds = time.perf_counter() - began
        if await cards.count() < len(photos) or await failed(page):
            return None
        return seconds
    except Exception:
        return None


async def video_visitor(page, clip: Path, start: asyncio.Event) -> float | None:
    try:
        await page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            str(clip)
        )
        button = page.get_by_role("button", name="Caption video")
        await button.wait_for(timeout=RESULT_TIMEOUT_MS)
        await start.wait()
        began = time.perf_counter()
        await button.click()
        await page.locator("video").wait_for(timeout=RESULT_TIMEOUT_MS)
        seconds = time.perf_counter() - began
        return None if await failed(page) else seconds
    except Exception:
        return None


async def failed(page) -> bool:
    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return await errors.count() > 0


if __name__ == "__main__":
    main()
