"""The server's work queue: order, batching across requests, limits, memory admission,
cancellation and abandoned owners. Real threads; events, never sleeps, decide who goes when."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from im2txt.config import DecodeConfig
from im2txt.queue_values import Cancelled, QueueFull, QueueSettings, TooLarge
from im2txt.results import Caption, CaptionBatch, ImageCaptions
from im2txt.work_queue import FIRST_SECONDS_PER_IMAGE, MB, WorkQueue

WAIT = 60  # seconds any step may take before the test fails (never reached when all is well)
# How far a photo's probabilities in a shared batch may be from the same photo captioned alone.
# Measured on 48 photos with this COCO-size model (beam 3, length 20): 3.0e-5 at worst with encoder
# batches of 8, and already 1.8e-5 with the encoder at batch 1 (the batched search's matmuls round
# differently from one image's); the words were identical every time.
SHARED_RELATIVE = 5e-5


class GatedCaptioner:
    """Stands in for a Captioner: records every batch the lane runs, and holds the first one
    until `gate` is set, so that requests pile up behind it."""

    def __init__(self, hold_first: bool = True) -> None:
        self.calls: list[tuple[str, list]] = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        self._hold = hold_first

    def _record(self, kind: str, images) -> None:
        self.calls.append((kind, list(images)))
        self.entered.set()
        if self._hold:
            assert self.gate.wait(WAIT)
            self._hold = False

    def caption_each(self, images, *, names=None, decode=None):
        self._record("photos", images)
        return CaptionBatch(
            ImageCaptions(n, (_caption(i),)) for n, i in zip(names, images, strict=True)
        )

    def caption_many(self, images, *, decode=None, progress=None):
        self._record("frames", images)
        return [[_caption(i)] for i in images]


def _caption(image) -> Caption:
    return Caption(words=(str(image),), log_probability=-1.0, word_probabilities=(0.5,))


def queue_with(captioner, **settings) -> WorkQueue:
    return WorkQueue(captioner, QueueSettings(**settings), fixed_bytes=0)


def test_requests_wait_in_order_with_their_place_and_are_batched_together():
    fake = GatedCaptioner()
    with queue_with(fake, batch_window=0.0) as queue:
        first = queue.submit_photos(["a"], names=["a"])
        assert fake.entered.wait(WAIT)  # the lane is busy with the first request
        later = [queue.submit_photos([f"{n}1", f"{n}2"], names=[f"{n}1", f"{n}2"]) for n in "bcd"]
        statuses = [t.status() for t in later]
        assert [s.state for s in statuses] == ["waiting"] * 3
        assert [s.ahead for s in statuses] == [0, 1, 2]
        etas = [s.eta for s in statuses]
        assert etas == sorted(etas) and etas[0] > 0
        fake.gate.set()
        assert first.result(WAIT)[0].captions[0].text == "a"
        for name, ticket in zip("bcd", later, strict=True):
            assert [r.name for r in ticket.result(WAIT)] == [f"{name}1", f"{name}2"]
            assert [r.captions[0].text for r in ticket.result()] == [f"{name}1", f"{name}2"]
    # The three that waited went through the model as one batch, in the order they came.
    assert fake.calls == [("photos", ["a"]), ("photos", ["b1", "b2", "c1", "c2", "d1", "d2"])]


def test_a_large_request_is_taken_in_slices_and_others_join_them():
    fake = GatedCaptioner()
    with queue_with(fake, batch_window=0.0, max_batch_images=4) as queue:
        queue.submit_photos(["x"])
        assert fake.entered.wait(WAIT)
        big = queue.submit_photos([f"p{i}" for i in range(6)])
        small = queue.submit_photos(["s"])
        fake.gate.set()
        assert len(big.result(WAIT)) == 6 and small.result(WAIT)[0].name == "s"
    assert [images for _, images in fake.calls] == [
        ["x"], ["p0", "p1", "p2", "p3"], ["p4", "p5", "s"],
    ]  # fmt: skip


def test_a_full_queue_answers_at_once_with_how_many_are_ahead():
    fake = GatedCaptioner()
    with queue_with(fake, queue_length=2, batch_window=0.0) as queue:
        queue.submit_photos(["running"])
        assert fake.entered.wait(WAIT)
        queue.submit_photos(["w1"])
        queue.submit_photos(["w2"])
        with pytest.raises(QueueFull) as refused:
            queue.submit_photos(["one too many"])
        assert refused.value.ahead == 2
        # Two images wait, at the first estimate of FIRST_SECONDS_PER_IMAGE each.
        assert refused.value.seconds == pytest.approx(2 * FIRST_SECONDS_PER_IMAGE)
        assert str(refused.value) == (
            "The server is busy: 2 request(s) are waiting ahead of yours. Try again in a minute."
        )
        fake.gate.set()


def test_the_same_key_finds_the_same_request_again():
    fake = GatedCaptioner(hold_first=False)
    with queue_with(fake) as queue:
        ticket = queue.submit_photos(["a"], owner="s1", key="k")
        ticket.result(WAIT)
        assert queue.submit_photos(["a"], owner="s1", key="k") is ticket
        other = queue.submit_photos(["a"], owner="s2", key="k")
        assert other is not ticket and other.result(WAIT)[0].name == "a"
    assert len(fake.calls) == 2


def test_video_frames_take_turns_with_photos():
    fake = GatedCaptioner()
    with queue_with(fake, batch_window=0.0) as queue:

        def video(work):
            return work.captioner.caption_many([f"f{i}" for i in range(24)])  # 3 batches of 8

        job = queue.submit_video(video, peak_bytes=MB, duration=1.0)
        assert fake.entered.wait(WAIT)  # the first frame batch holds the lane
        photo = queue.submit_photos(["photo"])
        fake.gate.set()
        assert len(job.result(WAIT)) == 24 and photo.result(WAIT)[0].name == "photo"
    assert [kind for kind, _ in fake.calls] == ["frames", "photos", "frames", "frames"]


def test_a_job_over_the_memory_budget_waits_and_then_runs():
    fake = GatedCaptioner(hold_first=False)
    with queue_with(fake, memory_budget_mb=100, video_jobs=2) as queue:
        started, release = threading.Event(), threading.Event()

        def first(work):
            started.set()
            assert release.wait(WAIT)
            return "first"

        one = queue.submit_video(first, peak_bytes=60 * MB, duration=10.0)
        assert started.wait(WAIT)
        two = queue.submit_video(lambda work: "second", peak_bytes=60 * MB, duration=10.0)
        # A video thread is free, but the budget is not: the second waits, first in line.
        status = two.status()
        assert (status.state, status.ahead) == ("waiting", 0)
        assert status.eta is not None and status.eta > 0
        assert not two.wait(0.05)
        release.set()
        assert (one.result(WAIT), two.result(WAIT)) == ("first", "second")
        with pytest.raises(TooLarge, match=r"big\.mp4: too large for this server"):
            queue.submit_video(lambda work: None, peak_bytes=101 * MB, duration=1.0,
                               name="big.mp4")  # fmt: skip


def test_photos_waiting_for_memory_let_the_video_holding_it_go_on():
    fake = GatedCaptioner(hold_first=False)
    # 100 MB of pixels, never touched: ~200 MB to decode, 50 MB beyond an ordinary photo's.
    big = np.zeros((25 * MB,), np.float32)
    with queue_with(fake, memory_budget_mb=100, batch_window=0.0) as queue:
        holding, go_on = threading.Event(), threading.Event()

        def video(work):
            holding.set()
            assert go_on.wait(WAIT)
            return work.captioner.caption_many(list(range(16)))

        job = queue.submit_video(video, peak_bytes=60 * MB, duration=1.0)
        assert holding.wait(WAIT)
        photo = queue.submit_photos([big], names=["big"])
        assert photo.status().state == "waiting"
        go_on.set()
        # The video's frames go through the lane while the photo waits for the video's memory.
        assert len(job.result(WAIT)) == 16
        assert photo.result(WAIT)[0].name == "big"
    assert [kind for kind, _ in fake.calls] == ["frames", "frames", "photos"]


def test_ordinary_photos_are_taken_and_a_photo_too_large_is_one_error():
    fake = GatedCaptioner(hold_first=False)
    settings = QueueSettings(memory_budget_mb=100, batch_window=0.0)
    with WorkQueue(fake, settings, fixed_bytes=200 * MB) as queue:
        assert queue.submit_photos(["a"]).result(WAIT)[0].name == "a"
        # One image that could never be decoded within the budget is an error entry of its own.
        big = np.zeros((25 * MB,), np.float32)  # ~200 MB to decode
        both = queue.submit_photos([big, "b"], names=["big", "b"]).result(WAIT)
        assert both[0].error == (
            "big: too large to decode within the server's memory (200 MB needed): "
            "send a smaller image"
        )
        assert both[1].error is None and both[1].captions[0].text == "b"
    assert [images for _, images in fake.calls] == [["a"], ["b"]]


def test_cancelling_a_waiting_and_a_running_job():
    fake = GatedCaptioner(hold_first=False)
    with queue_with(fake, video_jobs=1) as queue:
        reported, stopped = threading.Event(), threading.Event()

        def long_job(work):
            try:
                for step in range(10**9):
                    work.progress("rendering", step, 10**9)
                    reported.set()
            finally:
                stopped.set()

        running = queue.submit_video(long_job, peak_bytes=MB, duration=1.0)
        waiting = queue.submit_video(lambda work: "never", peak_bytes=MB, duration=1.0)
        assert reported.wait(WAIT)
        waiting.cancel()
        running.cancel()
        assert stopped.wait(WAIT)
        for ticket in (running, waiting):
            with pytest.raises(Cancelled):
                ticket.result(WAIT)
            assert ticket.cancelled and ticket.status().state == "cancelled"


def test_an_abandoned_owners_jobs_are_cancelled_and_forgotten():
    fake = GatedCaptioner(hold_first=False)
    alive = {"here": True, "gone": False}
    forgotten = []
    queue = WorkQueue(
        fake,
        QueueSettings(abandoned_after=30.0, video_jobs=1),
        owner_alive=lambda owner: alive[owner],
        fixed_bytes=0,
    )
    with queue:
        queue.when_owner_gone(forgotten.append)
        hold = threading.Event()
        blocker = queue.submit_video(lambda w: hold.wait(WAIT), peak_bytes=MB, duration=1.0,
                                     owner="here")  # fmt: skip
        mine = queue.submit_video(lambda w: "kept", peak_bytes=MB, duration=1.0, owner="here")
        theirs = queue.submit_video(lambda w: "x", peak_bytes=MB, duration=1.0, owner="gone")
        assert queue.check_owners(now=1000.0) == []  # gone, but not for long enough yet
        assert queue.check_owners(now=1030.0) == ["gone"]
        assert forgotten == ["gone"]
        with pytest.raises(Cancelled):
            theirs.result(WAIT)
        assert queue.tickets("gone") == []
        hold.set()
        assert blocker.result(WAIT) and mine.result(WAIT) == "kept"
        assert [t.owner for t in queue.tickets("here")] == ["here", "here"]


def test_closing_ends_every_thread():
    before = set(threading.enumerate())  # other queues (the app's, in this process) may run
    queue = queue_with(GatedCaptioner(hold_first=False), video_jobs=3)
    started = set(threading.enumerate()) - before
    assert {t.name for t in started} >= {"im2txt-lane", "im2txt-video-2"}
    queue.close()
    assert [t.name for t in started if t.is_alive()] == []


def test_settings_from_secrets_or_the_environment(monkeypatch):
    monkeypatch.setenv("IM2TXT_VIDEO_JOBS", "3")
    monkeypatch.setenv("IM2TXT_MEMORY_BUDGET_MB", "2500")
    assert QueueSettings.configured() == QueueSettings(memory_budget_mb=2500, video_jobs=3)
    # Secrets, when they hold any of the settings, are read instead (never mixed).
    assert QueueSettings.configured({"queue_length": 5}) == QueueSettings(queue_length=5)
    with pytest.raises(ValueError, match="video_jobs must be a whole number, got 'two'"):
        QueueSettings.configured({"video_jobs": "two"})
    with pytest.raises(ValueError, match="queue_length must be at least 1"):
        QueueSettings.configured({"queue_length": "0"})


# --- with a real model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coco_size_captioner(tmp_path_factory):
    """A COCO-size model (Inception v3, 12,000 words) with lively random weights, saved as an
    original TF1 checkpoint: where encoder batches round differently from single images."""
    from im2txt import load_captioner
    from tests.reference import original_im2txt as oi

    folder = tmp_path_factory.mktemp("coco_size")
    oi.save_original_checkpoint(oi.random_weights(0), folder, naming="tf1.2")
    (folder / "word_counts.txt").write_bytes(oi.real_vocab_path().read_bytes())
    return load_captioner(folder)


def _photo(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (120, 160, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_visitors_photos_captioned_together_equal_each_captioned_alone(coco_size_captioner):
    captioner = coco_size_captioner
    photos = [_photo(seed) for seed in range(8)]
    decode = DecodeConfig(beam_size=3, max_caption_length=12)
    alone = [captioner.caption(photo, decode=decode) for photo in photos]
    calls = []
    real = captioner.caption_each

    def counted(*args, **kwargs):
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    captioner.caption_each = counted  # an instance attribute: the fixture's captioner only
    try:
        # fixed_bytes=0: admission is not what this test is about, and this process's size
        # (every model the suite has loaded) would otherwise refuse every photo at the door.
        with WorkQueue(captioner, QueueSettings(batch_window=0.5), fixed_bytes=0) as queue:
            barrier = threading.Barrier(len(photos))
            tickets: list = [None] * len(photos)

            def visitor(i: int) -> None:
                barrier.wait()
                tickets[i] = queue.submit_photos([photos[i]], names=[f"v{i}"], decode=decode)

            threads = [threading.Thread(target=visitor, args=(i,)) for i in range(len(photos))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(WAIT)
            shared = [ticket.result(WAIT)[0] for ticket in tickets]
    finally:
        del captioner.caption_each
    assert sum(calls) == len(photos) and len(calls) < len(photos)  # batched across visitors
    for i, (mine, reference) in enumerate(zip(shared, alone, strict=True)):
        assert mine.name == f"v{i}"
        assert [c.words for c in mine.captions] == [c.words for c in reference]
        for got, want in zip(mine.captions, reference, strict=True):
            assert got.probability == pytest.approx(want.probability, rel=SHARED_RELATIVE)
            assert got.word_probabilities == pytest.approx(
                want.word_probabilities, rel=SHARED_RELATIVE
            )
