"""The server's work queue as the pages use it: one per model for every session, and the wait that
shows a visitor their place, an estimated start and the progress until their work is done."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from im2txt.queue_values import QueueSettings, Status
from im2txt.work_queue import Ticket, WorkQueue
from ui.clip_store import clip_store
from ui.models import load_model

# What each stage of a job's progress is called.
STAGES = {
    "shots": "Finding shots",
    "captioning": "Captioning frames",
    "rendering": "Rendering frames",
}
# How often a waiting page looks at its request, in seconds. It sends the browser a new line only
# when the line changes: every message is a redraw in each visitor's browser, and eight visitors'
# progress bars updated four times a second kept a core of a 2-core machine busy in Chromium.
POLL = 0.25


def _close(queue: WorkQueue) -> None:
    queue.close()


@st.cache_resource(show_spinner="Loading the captioning model…", max_entries=2, on_release=_close)
def work_queue(model_path: str) -> WorkQueue:
    """The one queue for the model at model_path, shared by every session and page: photo
    batches across visitors, video jobs that outlive page runs, one memory budget."""
    queue = WorkQueue(load_model(model_path), settings(), owner_alive=session_alive)
    queue.when_owner_gone(clip_store().drop_session)  # a closed tab's clips go with it
    return queue


def settings() -> QueueSettings:
    """The operator's queue settings: the app's secrets, else the environment."""
    try:
        secrets = st.secrets.to_dict()
    except FileNotFoundError:  # no secrets.toml
        secrets = {}
    try:
        return QueueSettings.configured(secrets)
    except ValueError as e:
        st.error(f"The app's queue settings cannot be used ({e}); using the defaults.")
        return QueueSettings()


def session_id() -> str:
    context = get_script_run_ctx()
    return context.session_id if context is not None else ""


def session_alive(session: str) -> bool:
    """Whether a browser session is connected now. A closed tab (or a connection dropped for
    longer than the queue's abandoned_after) ends its jobs."""
    if not Runtime.exists():  # AppTest, or a bare script run: no sessions to lose
        return True
    return Runtime.instance().is_active_session(session)


def follow(ticket: Ticket, what: str) -> None:
    """Show the ticket's place, estimated start and progress, updated until it is done. A rerun
    (the visitor touching a widget) stops this display, not the work."""
    box = st.empty()
    last_line = None
    while not ticket.wait(POLL):
        line = status_line(ticket.status(), what)
        if line == last_line:
            continue
        fraction, text = line
        if fraction is None:  # waiting, or nothing counted yet: a line, no bar
            box.caption(text)
        else:
            box.progress(fraction, text=text)
        last_line = line
    box.empty()


def status_line(status: Status, what: str) -> tuple[float | None, str]:
    """(fraction done, or None while there is nothing to count; one line) for a waiting or
    running request, in whole seconds and whole percent so that it changes at most a few times
    a second."""
    if status.state == "waiting":
        ahead = f"{status.ahead} request(s) ahead of yours" if status.ahead else "next in line"
        start = f", starting in about {_seconds(status.eta)}" if status.eta is not None else ""
        return None, f"Waiting for the captioner: {ahead}{start}."
    if status.progress is None:
        return None, f"{what}… {status.elapsed:.0f} s"
    stage, done, total = status.progress
    name = STAGES.get(stage, what)
    percent = min(100, 100 * done // max(total, 1))
    return percent / 100, f"{name}: {percent}% · {status.elapsed:.0f} s"


def _seconds(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
