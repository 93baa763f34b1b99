"""The server's one queue of heavy work: every visitor's photos and video jobs, run by a small fixed
pool within a memory budget, each request told its place and an estimated start.

    queue = WorkQueue(captioner, QueueSettings.configured(secrets))
    ticket = queue.submit_photos([jpeg_bytes], names=["cat.jpg"], owner=session_id)
    ticket.result()                                   # a CaptionBatch: this request's images only
    job = queue.submit_video(render, peak_bytes=..., duration=30.0, owner=session_id)
    queue.status(job)                                 # Status: state, ahead, eta, progress

One thread, the *lane*, runs everything that touches the model, one batch at a time (TensorFlow
already spreads one batch over every core; two batches side by side only fight for them):
- photo requests that arrive within `batch_window` seconds of the first one waiting are captioned
  together, up to `max_batch_images` images, in one encoder batch and one beam search per decoding
  setting; each request gets exactly its own results (a large request is taken in slices);
- video jobs run in `video_jobs` threads of their own (ffmpeg decodes, samples and renders there)
  and send their frames to the lane in batches that take turns with photo batches, so a photo
  never waits behind a whole clip.

Memory admission: the process's resident size when the queue starts (the model loaded) plus the
lane's working memory is the fixed part; each video job reserves its estimated peak (from its
header: frame size, duration) and starts only when it fits `memory_budget_mb` beside the jobs
already running, in the order they came; a photo batch reserves what its largest decodes need
beyond an ordinary photo's. A job that could never fit is refused at once, and so is a request
when `queue_length` requests are already waiting (QueueFull: how many are ahead).

Jobs belong to the queue, not to whoever submitted them: a page rerun or a dropped connection does
not stop one. With `owner_alive`, an owner (a browser session) gone for `abandoned_after` seconds
has its waiting and running jobs cancelled and its finished ones forgotten, and `when_owner_gone`
callbacks clean up whatever else it held.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from im2txt.captioner import Captioner
from im2txt.config import DecodeConfig
from im2txt.image_loading import ImageInput, decode_peak_bytes, describe
from im2txt.memory import limit_malloc_arenas
from im2txt.queue_values import Cancelled, QueueFull, QueueSettings, Status, TooLarge
from im2txt.results import Caption, CaptionBatch, ImageCaptions

T = TypeVar("T")

MB = 2**20
# What the lane itself needs on top of the loaded model while it runs a batch: an encoder batch of
# 8 COCO-size images (~110 MB more than one), 16 preprocessed images and the decoding of ordinary
# photos (bench/bench_visitors.py measures the server as a whole).
LANE_WORKING_BYTES = 200 * MB
# Decoding that much is inside LANE_WORKING_BYTES: a batch whose two largest decodes need more
# reserves the difference (two decode threads; a 12 MP JPEG needs ~72 MB).
PHOTO_ALLOWANCE_BYTES = 150 * MB
# Images per frame batch a video job sends to the lane: the encoder's batch, so that a batch of
# frames takes about as long as a photo batch and the two take turns often.
FRAME_BATCH = 8
# Seconds a new queue assumes for one image, and for one second of video, before it has measured.
FIRST_SECONDS_PER_IMAGE = 0.15
# Finished requests kept for a rerun to find: photo requests in all, video jobs per owner.
KEEP_PHOTOS = 256
KEEP_VIDEOS = 2
FIRST_SECONDS_PER_VIDEO_SECOND = 0.6


class Ticket(Generic[T]):
    """One submitted request: its result when done, its status meanwhile, a way to cancel it."""

    def __init__(self, queue: WorkQueue, kind: str, owner: str, key: str | None) -> None:
        self.id = next(_ids)
        self.kind = kind  # "photos" or "video"
        self.owner = owner
        self.key = key
        self.submitted = time.monotonic()
        self.started: float | None = None
        self.progress: tuple[str, int, int] | None = None
        self._queue = queue
        self._future: Future[T] = Future()

    def result(self, timeout: float | None = None) -> T:
        """The result; raises the job's error (an Im2txtError), Cancelled, or TimeoutError."""
        try:
            return self._future.result(timeout)
        except TimeoutError:
            raise
        except BaseException as e:
            if self._future.cancelled():
                raise Cancelled() from None
            raise e from None

    def wait(self, timeout: float | None = None) -> bool:
        """Whether it finished within `timeout` seconds."""
        try:
            self._future.exception(timeout)
        except TimeoutError:
            return False
        except BaseException:  # cancelled
            pass
        return True

    def done(self) -> bool:
        return self._future.done()

    def when_done(self, callback: Callable[[Ticket[T]], None]) -> None:
        """Call callback(ticket) once it is done, failed or cancelled (at once if it is): where
        a job's files are removed, whether it ran or was cancelled while it waited."""
        self._future.add_done_callback(lambda _: callback(self))

    @property
    def cancelled(self) -> bool:
        return self._future.cancelled() or (
            self._future.done() and isinstance(self._future.exception(), Cancelled)
        )

    @property
    def error(self) -> str | None:
        """The one-line error of a finished, failed or cancelled request, else None."""
        if not self._future.done():
            return None
        if self._future.cancelled():
            return "cancelled"
        error = self._future.exception()
        return None if error is None else str(error)

    def cancel(self) -> None:
        """Cancel it: a waiting request is dropped, a running video job stops at its next step
        (its ffmpeg processes ended, its files removed by its own cleanup)."""
        self._queue._cancel(self)

    def status(self) -> Status:
        return self._queue.status(self)

    def __repr__(self) -> str:
        return f"<Ticket {self.id} {self.kind} owner={self.owner!r} key={self.key!r}>"


_ids = itertools.count(1)


class VideoWork:
    """What a video job's function is given: a captioner whose frame batches go through the lane,
    a progress callback, and whether it was cancelled."""

    def __init__(self, queue: WorkQueue, ticket: Ticket) -> None:
        self._queue = queue
        self._ticket = ticket
        self.captioner = _LaneCaptioner(queue, ticket)

    def progress(self, stage: str, done: int, total: int) -> None:
        """Record progress; raises Cancelled once the job is cancelled (so a job stops at its
        next progress report: make_captioned_video reports every frame batch and every 1% of
        the frames it renders)."""
        self._ticket.progress = (stage, done, total)
        self.check()

    def check(self) -> None:
        """Raise Cancelled once the job is cancelled."""
        if self._queue._is_cancelling(self._ticket):
            raise Cancelled()

    @property
    def cancelled(self) -> bool:
        return self._queue._is_cancelling(self._ticket)


class _LaneCaptioner:
    """caption_many for a video job: its frames captioned in the lane, FRAME_BATCH at a time."""

    batch_size = FRAME_BATCH

    def __init__(self, queue: WorkQueue, ticket: Ticket) -> None:
        self._queue = queue
        self._ticket = ticket

    def caption_many(
        self,
        images: Sequence[ImageInput],
        *,
        decode: DecodeConfig | None = None,
        progress=None,
    ) -> list[list[Caption]]:
        found: list[list[Caption]] = []
        for start in range(0, len(images), FRAME_BATCH):
            if self._queue._is_cancelling(self._ticket):
                raise Cancelled()
            batch = _FrameBatch(list(images[start : start + FRAME_BATCH]), decode, Future())
            self._queue._put_frames(batch)
            found += batch.future.result()
            if progress:
                progress(len(found), len(images))
        return found


@dataclass(eq=False)
class _PhotoRequest:
    ticket: Ticket[CaptionBatch]
    images: list[ImageInput]
    names: list[str]
    decode: DecodeConfig
    peaks: list[int]
    results: list[ImageCaptions | None]
    taken: int = 0  # images handed to the lane so far

    @property
    def remaining(self) -> int:
        return len(self.images) - self.taken


@dataclass(eq=False)
class _FrameBatch:
    images: list[ImageInput]
    decode: DecodeConfig | None
    future: Future


@dataclass(eq=False)
class _VideoJob:
    ticket: Ticket
    work: Callable[[VideoWork], Any]
    peak_bytes: int
    duration: float


@dataclass
class _Measured:
    """Exponentially weighted averages of how long work takes here."""

    seconds_per_image: float = FIRST_SECONDS_PER_IMAGE
    seconds_per_video_second: float = FIRST_SECONDS_PER_VIDEO_SECOND

    def add(self, name: str, value: float, weight: float = 0.3) -> None:
        setattr(self, name, (1 - weight) * getattr(self, name) + weight * value)


@dataclass
class _Running:
    """Video jobs running and the bytes reserved for them and the lane's photo batch."""

    videos: dict[int, _VideoJob] = field(default_factory=dict)
    reserved: int = 0


class WorkQueue:
    """The server's queue: submit_photos and submit_video, from any thread. Thread-safe."""

    def __init__(
        self,
        captioner: Captioner,
        settings: QueueSettings | None = None,
        owner_alive: Callable[[str], bool] | None = None,
        fixed_bytes: int | None = None,
    ) -> None:
        self.captioner = captioner
        self.settings = settings or QueueSettings()
        self._owner_alive = owner_alive
        # The server's threads (the queue's, the pages' scripts) share two malloc arenas from now
        # on: freed memory is found again by the next thread (see memory.limit_malloc_arenas).
        limit_malloc_arenas()
        # What the server needs before any job: the process with its model loaded, measured now,
        # and the lane's working memory.
        self.fixed_bytes = (
            fixed_bytes if fixed_bytes is not None else resident_bytes() + LANE_WORKING_BYTES
        )
        self._lock = threading.Condition()
        self._photos: deque[_PhotoRequest] = deque()
        self._frames: deque[_FrameBatch] = deque()
        self._videos: deque[_VideoJob] = deque()
        self._running = _Running()
        # The photo slices in the lane now, and the memory reserved for their decoding.
        self._photo_batch: list[tuple[_PhotoRequest, int, int]] = []
        self._photo_extra = 0
        self._photos_turn = True
        self._cancelling: set[int] = set()
        self._tickets: dict[int, Ticket] = {}  # every ticket not yet forgotten, oldest first
        self._gone_since: dict[str, float] = {}
        self._gone_callbacks: list[Callable[[str], None]] = []
        self._measured = _Measured()
        self._closed = False
        self._threads = [threading.Thread(target=self._lane, name="im2txt-lane", daemon=True)]
        self._threads += [
            threading.Thread(target=self._video_worker, name=f"im2txt-video-{i}", daemon=True)
            for i in range(self.settings.video_jobs)
        ]
        if owner_alive is not None:
            self._owners_checked = threading.Event()
            self._threads.append(
                threading.Thread(target=self._watch_owners, name="im2txt-owners", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    # --- submitting ------------------------------------------------------------------------------

    def submit_photos(
        self,
        images: Sequence[ImageInput],
        *,
        names: Sequence[str] | None = None,
        decode: DecodeConfig | None = None,
        owner: str = "",
        key: str | None = None,
    ) -> Ticket[CaptionBatch]:
        """Caption `images` in the lane, batched with other requests; the ticket's result is a
        CaptionBatch in the same order (a bad image is an error entry, as caption_each gives).

        With `key`, a request with the same key and owner that is waiting, running or kept gives
        its ticket instead of a new one (a page rerun finds its request again). Raises QueueFull.
        An image too large to decode within the budget is an error entry."""
        names = list(names) if names is not None else [describe(image) for image in images]
        peaks = [decode_peak_bytes(image) for image in images]
        # Ordinary photos decode within the lane's working memory; one that needs more than the
        # budget could ever give is an error entry of its own, and the others are captioned.
        results: list[ImageCaptions | None] = [None] * len(images)
        for i, peak in enumerate(peaks):
            if self.fixed_bytes + peak - PHOTO_ALLOWANCE_BYTES > self._budget:
                results[i] = ImageCaptions(
                    names[i],
                    error=f"{names[i]}: too large to decode within the server's memory "
                    f"({peak / MB:.0f} MB needed): send a smaller image",
                )
                peaks[i] = 0
        with self._lock:
            found = self._find(owner, "photos", key)
            if found is not None:
                return found
            self._check_room()
            ticket: Ticket[CaptionBatch] = Ticket(self, "photos", owner, key)
            self._tickets[ticket.id] = ticket
            if all(result is not None for result in results):  # nothing for the model
                ticket._future.set_result(CaptionBatch(r for r in results if r is not None))
                return ticket
            request = _PhotoRequest(
                ticket, list(images), names, decode or DecodeConfig(), peaks, results
            )
            self._photos.append(request)
            self._lock.notify_all()
        return ticket

    def submit_video(
        self,
        work: Callable[[VideoWork], T],
        *,
        peak_bytes: int,
        duration: float,
        owner: str = "",
        key: str | None = None,
        name: str = "the clip",
    ) -> Ticket[T]:
        """Run `work(VideoWork)` in a video thread once `peak_bytes` fits the budget; its return
        value is the ticket's result. `duration` (seconds of video) feeds the estimates.

        With `key`, a waiting or running job of the same owner and key gives its ticket. Raises
        QueueFull, or TooLarge when peak_bytes could never fit."""
        with self._lock:
            found = self._find(owner, "video", key, finished=False)
            if found is not None:
                return found
            self._check_room()
            if self.fixed_bytes + peak_bytes > self._budget:
                raise TooLarge(
                    f"{name}: too large for this server (it would need ~{peak_bytes / MB:.0f} MB "
                    f"beside the model; the server allows {self._budget / MB:.0f} MB in all): "
                    "send a smaller or shorter clip"
                )
            ticket: Ticket[T] = Ticket(self, "video", owner, key)
            self._tickets[ticket.id] = ticket
            self._videos.append(_VideoJob(ticket, work, peak_bytes, duration))
            self._lock.notify_all()
        return ticket

    # --- looking --------------------------------------------------------------------------------

    def tickets(self, owner: str, kind: str | None = None) -> list[Ticket]:
        """The owner's tickets (waiting, running, and finished ones not yet forgotten), oldest
        first."""
        with self._lock:
            return [
                t for t in self._tickets.values() if t.owner == owner and kind in (None, t.kind)
            ]

    def status(self, ticket: Ticket) -> Status:
        with self._lock:
            elapsed = time.monotonic() - ticket.submitted
            if ticket.done():
                state = "done"
                if ticket.cancelled:
                    state = "cancelled"
                elif ticket.error is not None:
                    state = "failed"
                return Status(state, progress=ticket.progress, elapsed=elapsed)
            if ticket.kind == "photos":
                return self._photo_status(ticket, elapsed)
            return self._video_status(ticket, elapsed)

    @property
    def waiting(self) -> int:
        """Requests waiting to start (photo requests not begun, video jobs not admitted)."""
        with self._lock:
            return self._waiting_count()

    def forget(self, ticket: Ticket) -> None:
        """Stop keeping a finished ticket (the owner has taken its result)."""
        with self._lock:
            if ticket.done():
                self._tickets.pop(ticket.id, None)

    def when_owner_gone(self, callback: Callable[[str], None]) -> None:
        """Call callback(owner) when an owner is found gone (see owner_alive)."""
        with self._lock:
            self._gone_callbacks.append(callback)

    def check_owners(self, now: float | None = None) -> list[str]:
        """Cancel the jobs of owners gone for abandoned_after seconds and forget their tickets;
        returns those owners. Runs every few seconds by itself when owner_alive is given."""
        if self._owner_alive is None:
            return []
        now = time.monotonic() if now is None else now
        with self._lock:
            owners = {t.owner for t in self._tickets.values() if t.owner}
        gone = []
        for owner in owners:
            if self._owner_alive(owner):
                self._gone_since.pop(owner, None)
                continue
            since = self._gone_since.setdefault(owner, now)
            if now - since >= self.settings.abandoned_after:
                gone.append(owner)
        for owner in gone:
            for ticket in self.tickets(owner):
                ticket.cancel()
            with self._lock:
                for ticket in [t for t in self._tickets.values() if t.owner == owner]:
                    if ticket.done():
                        del self._tickets[ticket.id]
                self._gone_since.pop(owner, None)
                callbacks = list(self._gone_callbacks)
            for callback in callbacks:
                callback(owner)
        return gone

    def close(self) -> None:
        """Cancel what waits, stop running video jobs, end the threads."""
        with self._lock:
            self._closed = True
            waiting = [r.ticket for r in self._photos] + [j.ticket for j in self._videos]
            running = [job.ticket for job in self._running.videos.values()]
            self._lock.notify_all()
        for ticket in waiting + running:
            ticket.cancel()
        with self._lock:
            for batch in self._frames:
                batch.future.set_exception(Cancelled("the server is stopping"))
            self._frames.clear()
            self._lock.notify_all()
        if self._owner_alive is not None:
            self._owners_checked.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=30)

    def __enter__(self) -> WorkQueue:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the lane --------------------------------------------------------------------------------

    def _lane(self) -> None:
        while True:
            with self._lock:
                job = self._next_lane_work()
                if job is None:
                    return
            kind, work = job
            if kind == "photos":
                self._run_photos(work)
            else:
                self._run_frames(work)

    def _next_lane_work(self) -> tuple[str, Any] | None:
        """Under the lock: wait for the next batch to run; None when closed."""
        while True:
            if self._closed:
                return None
            photos_ready = bool(self._photos) and self._photos_gathered()
            blocked = False  # photos whose decoding waits for memory a video job holds
            if photos_ready and (self._photos_turn or not self._frames):
                batch = self._take_photo_batch()
                if batch is not None:
                    self._photos_turn = False
                    return "photos", batch
                blocked = True
            if self._frames:  # a video job's frames: also while photos wait for its memory
                self._photos_turn = True
                return "frames", self._frames.popleft()
            # Woken by a new request, new frames, or a video job ending (memory freed).
            self._lock.wait(None if blocked else self._photo_wait())

    def _photos_gathered(self) -> bool:
        """Whether the waiting photos are ready to go: the batch is full, or the first one has
        waited batch_window seconds, or frames are waiting (the window would only delay both)."""
        waiting = sum(r.remaining for r in self._photos)
        first = self._photos[0].ticket.submitted
        window_over = time.monotonic() - first >= self.settings.batch_window
        return waiting >= self.settings.max_batch_images or window_over or bool(self._frames)

    def _photo_wait(self) -> float | None:
        if not self._photos:
            return None
        left = self.settings.batch_window - (time.monotonic() - self._photos[0].ticket.submitted)
        return max(left, 0.001)

    def _take_photo_batch(self) -> list[tuple[_PhotoRequest, int, int]] | None:
        """Under the lock: up to max_batch_images images from the requests in order, as
        (request, start, stop) slices, reserving their decoding memory; None when that memory
        is not free yet (the lane waits for a video job to end)."""
        room = self.settings.max_batch_images
        batch = []
        for request in self._photos:
            if room == 0:
                break
            take = min(room, request.remaining)
            batch.append((request, request.taken, request.taken + take))
            room -= take
        peaks = [p for r, start, stop in batch for p in r.peaks[start:stop]]
        extra = max(0, _largest_two(peaks) - PHOTO_ALLOWANCE_BYTES)
        if extra and self.fixed_bytes + self._running.reserved + extra > self._budget:
            return None
        self._running.reserved += extra
        for request, _, stop in batch:
            if request.ticket.started is None:
                request.ticket.started = time.monotonic()
            request.taken = stop
            if request.remaining == 0:
                self._photos.remove(request)
        self._photo_batch, self._photo_extra = batch, extra
        return batch

    def _run_photos(self, batch: list[tuple[_PhotoRequest, int, int]]) -> None:
        started = time.perf_counter()
        groups: dict[DecodeConfig, list[tuple[_PhotoRequest, int]]] = {}
        for request, start, stop in batch:
            groups.setdefault(request.decode, []).extend(
                (request, i) for i in range(start, stop) if request.results[i] is None
            )
        count = 0
        for decode, members in groups.items():
            if not members:  # every image of the slice was refused at the door
                continue
            images = [request.images[i] for request, i in members]
            names = [request.names[i] for request, i in members]
            try:
                found = list(self.captioner.caption_each(images, names=names, decode=decode))
            except Exception as e:  # the model itself: every request of the group fails
                for request in {id(r): r for r, _ in members}.values():
                    _set_exception(request.ticket._future, e)
                continue
            count += len(images)
            for (request, i), result in zip(members, found, strict=True):
                request.results[i] = result
        seconds = time.perf_counter() - started
        with self._lock:
            if count:
                self._measured.add("seconds_per_image", seconds / count)
            self._running.reserved -= self._photo_extra
            self._photo_batch, self._photo_extra = [], 0
            finished = []
            for request, _, stop in batch:
                if stop == len(request.images) and not request.ticket.done():
                    finished.append(request)
                else:
                    done = sum(r is not None for r in request.results)
                    request.ticket.progress = ("captioning", done, len(request.images))
            self._lock.notify_all()
        for request in finished:
            request.ticket.progress = ("captioning", len(request.images), len(request.images))
            results = [r for r in request.results if r is not None]
            if len(results) == len(request.images):
                _set_result(request.ticket._future, CaptionBatch(results))

    def _run_frames(self, batch: _FrameBatch) -> None:
        try:
            found = self.captioner.caption_many(batch.images, decode=batch.decode)
        except Exception as e:
            _set_exception(batch.future, e)
        else:
            _set_result(batch.future, found)

    def _put_frames(self, batch: _FrameBatch) -> None:
        with self._lock:
            if self._closed:
                raise Cancelled("the server is stopping")
            self._frames.append(batch)
            self._lock.notify_all()

    # --- video jobs ------------------------------------------------------------------------------

    def _video_worker(self) -> None:
        while True:
            with self._lock:
                job = self._next_video()
                if job is None:
                    return
            self._run_video(job)

    def _next_video(self) -> _VideoJob | None:
        """Under the lock: wait until the first waiting job fits the budget; None when closed."""
        while True:
            if self._closed:
                return None
            if self._videos:
                job = self._videos[0]
                used = self.fixed_bytes + self._running.reserved
                if not self._running.videos or used + job.peak_bytes <= self._budget:
                    self._videos.popleft()
                    self._running.videos[job.ticket.id] = job
                    self._running.reserved += job.peak_bytes
                    job.ticket.started = time.monotonic()
                    return job
            self._lock.wait()

    def _run_video(self, job: _VideoJob) -> None:
        ticket = job.ticket
        started = time.perf_counter()
        try:
            if ticket._future.set_running_or_notify_cancel():
                _set_result(ticket._future, job.work(VideoWork(self, ticket)))
        except BaseException as e:
            if isinstance(e, Cancelled) or ticket.id in self._cancelling:
                e = Cancelled()
            _set_exception(ticket._future, e)
        finally:
            with self._lock:
                del self._running.videos[ticket.id]
                self._running.reserved -= job.peak_bytes
                self._cancelling.discard(ticket.id)
                if ticket.error is None and job.duration > 0:
                    seconds = time.perf_counter() - started
                    self._measured.add("seconds_per_video_second", seconds / job.duration)
                self._lock.notify_all()

    # --- internals -------------------------------------------------------------------------------

    @property
    def _budget(self) -> int:
        return self.settings.memory_budget_mb * MB

    def _find(self, owner: str, kind: str, key: str | None, finished: bool = True) -> Ticket | None:
        if key is None:
            return None
        for ticket in reversed(self._tickets.values()):
            same = (ticket.owner, ticket.kind, ticket.key) == (owner, kind, key)
            if same and not ticket.cancelled and (finished or not ticket.done()):
                if ticket.done() and ticket.error is not None:
                    return None  # a failed request is tried again
                return ticket
        return None

    def _check_room(self) -> None:
        waiting = self._waiting_count()
        if waiting >= self.settings.queue_length:
            images = sum(r.remaining for r in self._photos)
            video_seconds = sum(job.duration for job in self._videos) / self.settings.video_jobs
            raise QueueFull(
                waiting,
                images * self._measured.seconds_per_image
                + video_seconds * self._measured.seconds_per_video_second,
            )
        # Finished tickets are kept for reruns that look for them: the newest KEEP_PHOTOS photo
        # requests (captions only), and each owner's newest KEEP_VIDEOS video jobs.
        done = [t for t in self._tickets.values() if t.done()]
        photos = [t for t in done if t.kind == "photos"]
        dropped = photos[: max(0, len(photos) - KEEP_PHOTOS)]
        for owner in {t.owner for t in done if t.kind == "video"}:
            videos = [t for t in done if t.kind == "video" and t.owner == owner]
            dropped += videos[: max(0, len(videos) - KEEP_VIDEOS)]
        for ticket in dropped:
            del self._tickets[ticket.id]

    def _waiting_count(self) -> int:
        return sum(1 for r in self._photos if r.taken == 0) + len(self._videos)

    def _is_cancelling(self, ticket: Ticket) -> bool:
        return ticket.id in self._cancelling or ticket._future.cancelled()

    def _cancel(self, ticket: Ticket) -> None:
        with self._lock:
            if ticket.done():
                return
            for request in list(self._photos):
                if request.ticket is ticket:
                    self._photos.remove(request)
            for job in list(self._videos):
                if job.ticket is ticket:
                    self._videos.remove(job)
            if ticket.id in self._running.videos:
                self._cancelling.add(ticket.id)  # the job stops at its next step
            elif not any(r.ticket is ticket for r, _, _ in self._photo_batch):
                ticket._future.cancel()
            self._lock.notify_all()

    def _photo_status(self, ticket: Ticket, elapsed: float) -> Status:
        per_image = self._measured.seconds_per_image
        if ticket.started is not None:  # some of its images are captioned or in the lane
            left = sum(r.remaining for r in self._photos if r.ticket is ticket)
            left += sum(b - a for r, a, b in self._photo_batch if r.ticket is ticket)
            return Status("running", 0, left * per_image, ticket.progress, elapsed)
        ahead_requests, ahead_images = 0, 0
        for request in self._photos:
            if request.ticket is ticket:
                break
            ahead_requests += 1
            ahead_images += request.remaining
        ahead_images += sum(b - a for _, a, b in self._photo_batch)
        # Frames waiting take a turn first.
        ahead_images += FRAME_BATCH * min(1, len(self._frames))
        return Status("waiting", ahead_requests, ahead_images * per_image, None, elapsed)

    def _video_status(self, ticket: Ticket, elapsed: float) -> Status:
        per_second = self._measured.seconds_per_video_second
        now = time.monotonic()
        if ticket.id in self._running.videos:
            job = self._running.videos[ticket.id]
            return Status("running", 0, self._remaining(job, now, per_second), ticket.progress,
                          elapsed)  # fmt: skip
        # Played forward: running jobs end when their estimates say; each waiting job, in order,
        # starts at the first end after which a video thread and its memory are both free.
        room = self._budget - self.fixed_bytes - self._photo_extra
        running = sorted(
            (self._remaining(job, now, per_second), job.peak_bytes)
            for job in self._running.videos.values()
        )
        clock = 0.0
        for ahead, job in enumerate(self._videos):
            while running and (
                len(running) >= self.settings.video_jobs
                or sum(peak for _, peak in running) + job.peak_bytes > room
            ):
                end, _ = running.pop(0)
                clock = max(clock, end)
            if job.ticket is ticket:
                return Status("waiting", ahead, clock, ticket.progress, elapsed)
            running.append((clock + job.duration * per_second, job.peak_bytes))
            running.sort()
        return Status("waiting", len(self._videos), None, ticket.progress, elapsed)

    @staticmethod
    def _remaining(job: _VideoJob, now: float, per_second: float) -> float:
        spent = now - (job.ticket.started or now)
        return max(0.0, job.duration * per_second - spent)

    def _watch_owners(self) -> None:
        period = max(0.5, min(5.0, self.settings.abandoned_after / 4))
        while not self._owners_checked.wait(period):
            if self._closed:
                return
            self.check_owners()


def resident_bytes() -> int:
    """This process's resident memory now, in bytes (Linux; 0 where /proc is not there)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _largest_two(values: list[int]) -> int:
    return sum(sorted(values)[-2:])


def _set_result(future: Future, value: object) -> None:
    with suppress(InvalidStateError):  # cancelled meanwhile: nobody wants it
        future.set_result(value)


def _set_exception(future: Future, error: BaseException) -> None:
    with suppress(InvalidStateError):
        future.set_exception(error)
