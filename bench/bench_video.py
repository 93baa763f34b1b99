"""Benchmark: caption and render a 30-second 1280x720 clip; is it at least as fast as real time?

    python bench/bench_video.py [--model PATH] [--seconds 30] [--every 1] [--preset veryfast]
                                [--clip VIDEO] [--keep FOLDER] [--repeat 3]

Builds a clip of moving generated shapes (six scenes of 5 s at 30 fps, with a 440 Hz tone), then
times caption_video (sampling pass + captioning) and render_video (decode, draw, encode, mux)
separately, and captioning the sampled frames in one caption_many call against one caption() call
per frame. Then the same with shot detection (`video --scenes`): the detection pass alone (every
frame decoded small and given to PySceneDetect), and caption_video with shots, against sampling
every --every seconds: seconds and frames captioned. Uses the shipped demo model, or a
random-weights model of its shape when it is not there. --clip times an existing video instead
(real footage is harder to encode than shapes).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from im2txt import video  # noqa: E402
from im2txt.demo import scene_drawing, scene_grammar, scenes  # noqa: E402
from im2txt.video import ffmpeg, render  # noqa: E402

SIZE = (1280, 720)
FPS = 30
SCENE_SECONDS = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", help="model folder (default: the demo model, else random weights)"
    )
    parser.add_argument("--seconds", type=int, default=30, help="clip length (default 30)")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--preset", default=render.X264_PRESET, help="x264 preset")
    parser.add_argument("--clip", metavar="VIDEO", help="time this video instead of a made one")
    parser.add_argument("--keep", metavar="FOLDER", help="keep the clip and its render here")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (default 3)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        if args.clip:
            clip, references = Path(args.clip), []
        else:
            clip = folder / "bench_clip.mp4"
            started = time.perf_counter()
            references = make_clip(clip, args.seconds)
            print(f"made a {args.seconds} s clip of moving shapes in "
                  f"{time.perf_counter() - started:.1f} s (not counted)")  # fmt: skip
        info = video.probe(clip)
        audio = f"audio {info.audio_codec}" if info.has_audio else "no audio"
        print(f"clip: {clip.name}, {info.duration:.1f} s, {info.width}x{info.height} at "
              f"{info.fps:.2f} fps, {info.video_codec}, {audio}")  # fmt: skip

        started = time.perf_counter()
        captioner, label = load(args.model)
        captioner.warm_up()
        print(f"model: {label}; loaded and warmed up in {time.perf_counter() - started:.1f} s "
              "(not counted)")  # fmt: skip
        print(f"cores: {os.cpu_count()}; x264 preset {args.preset}, crf {render.X264_CRF}; "
              f"median of {args.repeat} run(s)\n")  # fmt: skip

        output = folder / video.default_output(clip).name
        runs = []  # (sampling pass, caption_many, render_video) seconds
        for _ in range(args.repeat):
            timed = TimedCaptioner(captioner)
            started = time.perf_counter()
            captions = video.caption_video(
                timed, clip, settings=video.VideoConfig(every=args.every)
            )
            captioning = time.perf_counter() - started
            started = time.perf_counter()
            video.render_video(captions.info, captions.segments, output, preset=args.preset)
            runs.append((captioning - timed.seconds, timed.seconds, time.perf_counter() - started))
        sampling, model, rendering = (
            statistics.median(column) for column in zip(*runs, strict=True)
        )
        captioning = sampling + model
        total = captioning + rendering
        totals = ", ".join(f"{sum(run):.2f}" for run in runs)

        frames = captions.info.frame_count
        print(f"caption_video  {captioning:6.2f} s  ({len(captions.samples)} samples: "
              f"sampling pass {sampling:.2f} s, caption_many {model:.2f} s "
              f"in {timed.calls} call(s))")  # fmt: skip
        print(f"render_video   {rendering:6.2f} s  ({frames} frames, {frames / rendering:.0f} "
              f"frames/s, {output.stat().st_size / 2**20:.1f} MB)")  # fmt: skip
        seconds = info.duration
        print(f"total          {total:6.2f} s  for {seconds:.1f} s of video: "
              f"{seconds / total:.2f}x real time "
              f"({'faster' if total <= seconds else 'SLOWER'} than real time; "
              f"runs: {totals} s)")  # fmt: skip
        print(f"split          captioning {captioning / total:.0%} (sampling {sampling / total:.0%}"
              f", model {model / total:.0%}), rendering {rendering / total:.0%}\n")  # fmt: skip

        images = [frame.pixels for frame in video.sample_frames(clip, every=args.every)]
        batched_runs, single_runs = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            batched = captioner.caption_many(images)
            batched_runs.append(time.perf_counter() - started)
            started = time.perf_counter()
            one_by_one = [captioner.caption(image) for image in images]
            single_runs.append(time.perf_counter() - started)
        batched_seconds = statistics.median(batched_runs)
        single_seconds = statistics.median(single_runs)
        same = sum(a[0].text == b[0].text for a, b in zip(batched, one_by_one, strict=True))
        print(f"captioning {len(images)} frames: batched {batched_seconds:.2f} s, "
              f"frame by frame {single_seconds:.2f} s: "
              f"{single_seconds / batched_seconds:.1f}x speed-up "
              f"(same best caption for {same}/{len(images)})\n")  # fmt: skip

        print("segments" + (" (the scene's reference caption in brackets):" if references else ":"))
        for segment in captions.segments:
            scene = int(segment.start // SCENE_SECONDS)
            reference = f"  [{references[scene]}]" if scene < len(references) else ""
            print(f"  {segment.start:5.1f}-{segment.end:5.1f} s  {segment.text}  "
                  f"(p={segment.probability:.3f}){reference}")  # fmt: skip
        print()
        compare_shots(captioner, info, args, captioning, rendering, len(captions.samples))
    return 0


def compare_shots(captioner, info, args, captioning, rendering, samples) -> None:
    """Captioning with shot detection against sampling by time: seconds, frames captioned."""
    detect_runs, shot_runs = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        shots = video.find_shots(info)
        detect_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        captions = video.caption_video(
            captioner, info, settings=video.VideoConfig(every=args.every, shots=video.ShotConfig())
        )
        shot_runs.append(time.perf_counter() - started)
    detecting, shot_captioning = statistics.median(detect_runs), statistics.median(shot_runs)
    seconds, frames = info.duration, len(shots.times)
    print(f"shots: {len(shots.cuts)} cut(s) at "
          f"{', '.join(f'{t:.3f}' for t in shots.cut_times) or 'none'} s; "
          f"detection pass alone {detecting:.2f} s for {frames} frames "
          f"({frames / detecting:.0f} frames/s)")  # fmt: skip
    print(f"{'sampling':<22}{'caption_video':>14}{'captioned':>11}{'+ render':>10}"
          f"{'real time':>11}")  # fmt: skip
    for name, spent, count in (
        (f"every {args.every:g} s", captioning, samples),
        ("at each shot change", shot_captioning, len(captions.samples)),
    ):
        total = spent + rendering
        print(f"{name:<22}{spent:>12.2f} s{count:>11}{total:>8.2f} s{seconds / total:>10.1f}x")


class TimedCaptioner:
    """A captioner that adds up the time spent in caption_many."""

    def __init__(self, captioner) -> None:
        self.captioner = captioner
        self.batch_size = captioner.batch_size
        self.seconds = 0.0
        self.calls = 0

    def caption_many(self, images, **options):
        started = time.perf_counter()
        try:
            return self.captioner.caption_many(images, **options)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1


def make_clip(path: Path, seconds: int) -> list[str]:
    """A clip of random shape scenes drifting across the frame; the scenes' reference captions."""
    rng = np.random.default_rng(2024)
    frame_count = seconds * FPS
    scene_frames = SCENE_SECONDS * FPS
    command = [
        ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-video_size", f"{SIZE[0]}x{SIZE[1]}",
        "-framerate", str(FPS), "-i", "pipe:0",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(path),
    ]  # fmt: skip
    references = []
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE)
    try:
        for first in range(0, frame_count, scene_frames):
            scene = scenes.random_scene(rng, size=SIZE, background="plain")
            references.append(scene.captions[0])
            # Pixels per frame, the same for every object: at most 75 pixels over a scene.
            drift = rng.uniform(-0.5, 0.5, size=2)
            for n in range(min(scene_frames, frame_count - first)):
                moved = [
                    dataclasses.replace(obj, center=tuple(np.add(obj.center, drift * n)))
                    for obj in scene.objects
                ]
                frame = scene_drawing.render_scene(moved, scene.background, SIZE)
                encoder.stdin.write(frame.tobytes())
        encoder.stdin.close()
    finally:
        if encoder.wait() != 0:
            raise SystemExit("ffmpeg could not make the clip")
    return references


def load(path: str | None):
    """The captioner to time and what it is."""
    from im2txt.captioner import load_captioner

    demo = REPO / "im2txt" / "demo" / "model"
    if path or demo.is_dir():
        captioner = load_captioner(path or demo)
        return captioner, f"{captioner.info.name} ({path or demo})"
    return random_captioner(), "RANDOM small_cnn weights (the demo model is missing): timings only"


def random_captioner():
    from im2txt.captioner import Captioner
    from im2txt.config import ModelConfig, ModelInfo
    from im2txt.model import ShowAndTellModel
    from im2txt.vocabulary import Vocabulary
    from im2txt.weights import weight_shapes

    words = ["<S>", "</S>", *scene_grammar.caption_vocabulary()]
    # The demo model's shape (demo_training.DEMO_CONFIG), so that the timings are its timings.
    config = ModelConfig(
        encoder="small_cnn", resize_height=128, resize_width=128, image_height=128,
        image_width=128, encoder_filters=(16, 32, 64, 64), embedding_size=128,
        num_lstm_units=256, vocab_size=len(words) + 1,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    weights = {
        name: rng.normal(0.0, 0.1, shape).astype(np.float32)
        for name, shape in weight_shapes(config).items()
    }
    info = ModelInfo("random small_cnn", "demo", "bench", len(words) + 1)
    return Captioner(ShowAndTellModel(config, weights), Vocabulary(words), info)


if __name__ == "__main__":
    sys.exit(main())
