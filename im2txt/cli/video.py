"""`video`: a clip -> captions of sampled frames, a rendered captioned clip, SRT/VTT/JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from im2txt.cli.common import (
    add_decode_arguments,
    add_model_arguments,
    decode_config,
    load_model_for,
    non_negative_float,
    positive_float,
    stage_progress,
)
from im2txt.video import (
    DEFAULT_EVERY,
    MAX_DURATION,
    ShotConfig,
    VideoConfig,
    default_output,
    make_captioned_video,
    probe,
)
from im2txt.video.ffmpeg import check_output
from im2txt.video.shots import DEFAULT_MIN_SHOT, DEFAULT_THRESHOLD
from im2txt.video.subtitles import clock


def add(commands) -> None:
    parser = commands.add_parser(
        "video",
        help="caption a video clip and render it with the captions",
        description="Caption the frame shown every SECONDS of a clip, merge equal captions into "
        "timed segments, print them, and write the clip with the captions drawn on it "
        "(H.264 MP4 with the original audio) and optional subtitle files.",
    )
    parser.add_argument("input", metavar="INPUT", help="video file (mp4, mov, mkv, webm, avi, ...)")
    parser.add_argument(
        "-o", "--output", metavar="OUTPUT.mp4",
        help="captioned clip to write: .mp4, .m4v, .mov or .mkv "
        "(default: INPUT's name + _captioned.mp4, beside it)",
    )  # fmt: skip
    parser.add_argument(
        "--every", type=positive_float, default=DEFAULT_EVERY, metavar="SECONDS",
        help=f"seconds between captioned frames (default {DEFAULT_EVERY:g}); with --scenes, "
        "within each shot, from its cut",
    )  # fmt: skip
    parser.add_argument(
        "--scenes", action="store_true",
        help="detect cuts and fades (PySceneDetect) and start a caption at each shot change",
    )  # fmt: skip
    parser.add_argument(
        "--scene-threshold", type=positive_float, default=DEFAULT_THRESHOLD, metavar="T",
        help="with --scenes: how many times the change of the frames around it a frame's change "
        f"must be to be a cut; lower finds more (default {DEFAULT_THRESHOLD:g})",
    )  # fmt: skip
    parser.add_argument(
        "--min-shot", type=non_negative_float, default=DEFAULT_MIN_SHOT, metavar="SECONDS",
        help="with --scenes: shorter shots merge into the shot before "
        f"(default {DEFAULT_MIN_SHOT:g})",
    )  # fmt: skip
    add_model_arguments(parser)
    add_decode_arguments(parser, max_length=False, length_normalization=False)
    parser.add_argument("--srt", metavar="FILE", help="also write the segments as SubRip subtitles")
    parser.add_argument("--vtt", metavar="FILE", help="also write the segments as WebVTT subtitles")
    parser.add_argument(
        "--json", metavar="FILE", help="also write segments and every sample's captions as JSON"
    )
    parser.add_argument(
        "--max-duration", type=non_negative_float, default=MAX_DURATION, metavar="SECONDS",
        help=f"refuse longer clips (default {MAX_DURATION:g}; 0: no limit)",
    )  # fmt: skip
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for path in (args.srt, args.vtt, args.json):
        if path and not Path(path).resolve().parent.is_dir():
            print(f"error: {path}: its folder does not exist", file=sys.stderr)
            return 1
    output = check_output(args.output or default_output(args.input))  # before any work
    info = probe(args.input)  # a bad file fails here, before the model loads
    audio = f"audio {info.audio_codec}" if info.has_audio else "no audio"
    print(f"Video: {info.path}, {info.duration:.1f} s, {info.width}x{info.height}, "
          f"{info.fps:.3f} fps, {audio}", file=sys.stderr)  # fmt: skip
    captioner = load_model_for(args)
    settings = VideoConfig(
        every=args.every,
        decode=decode_config(args),
        shots=ShotConfig(args.scene_threshold, args.min_shot) if args.scenes else None,
        max_duration=args.max_duration or None,
    )
    result = make_captioned_video(
        captioner, info, output, settings=settings, progress=stage_progress()
    )
    cuts = result.captions.cuts
    if cuts is not None:
        times = ", ".join(clock(cut) for cut in cuts) or "none"
        print(f"Shots: {len(cuts) + 1}; cuts at {times}", file=sys.stderr)
    for segment in result.captions.segments:
        shot = f"shot {segment.shot + 1}: " if segment.shot is not None else ""
        print(f"[{clock(segment.start)} - {clock(segment.end)}] {shot}{segment.text} "
              f"(p={segment.probability:f})")  # fmt: skip
    print(f"Wrote {result.output}", file=sys.stderr)
    for path, text in ((args.srt, result.srt), (args.vtt, result.vtt), (args.json, result.json)):
        if path:
            try:
                Path(path).write_text(text, encoding="utf-8")
            except OSError as e:
                print(f"error: {path}: cannot write ({e.strerror})", file=sys.stderr)
                return 1
            print(f"Wrote {path}", file=sys.stderr)
    return 0
