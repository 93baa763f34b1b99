"""Video page (AppTest): upload or sample, the Caption button, segments, downloads, errors,
and finished work kept across reruns. The model is a tiny random bundle."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from fixtures.clips import animated_gif, encode, pattern_clip, shot_frames
from fixtures.paths import REPO
from fixtures.tiny_model import write_tiny_bundle
from ui import clips


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    path = pattern_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=3)
    return path.read_bytes()


@pytest.fixture
def page(tmp_path, monkeypatch) -> AppTest:
    write_tiny_bundle(tmp_path / "demo", kind="demo")
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(tmp_path))
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    app.run()
    app.switch_page("app_pages/video.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


OTHER_SETTINGS = (
    "This clip was captioned with other settings: press **Caption video** to caption it again "
    "with these."
)


def other_settings(app: AppTest) -> list[str]:
    """The page's notices that the clip shown is for other settings."""
    return [i.value for i in app.info if "other settings" in i.value]


def timeline_rows(app: AppTest) -> list[list[str]]:
    """The timeline table's cells, row by row, as text (the header first)."""
    (table,) = [m.value for m in app.markdown if "im2txt-timeline" in m.value]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    return [[re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
            for row in rows]  # fmt: skip


def caption_button(app: AppTest):
    (button,) = [b for b in app.button if "Caption" in b.label]
    return button


def test_limits_are_stated(page):
    label = page.get("file_uploader")[0].label
    assert "up to 200 MB and 10 minutes" in label


def test_the_uploader_refuses_no_file_by_its_name(page):
    # Streamlit's own refusal is a hover on the file's chip; the page answers every file itself.
    (uploader,) = page.get("file_uploader")
    assert list(uploader.proto.type) == []
    assert all(f"{kind}," in uploader.label for kind in ("mp4", "mov", "gif", "mts"))


def test_an_animated_gif_is_captioned(page, tmp_path):
    gif = animated_gif(tmp_path / "anim.gif", "160x120")
    run_clip(page, "anim.gif", gif.read_bytes())
    assert not page.exception and not page.error
    assert len(timeline_rows(page)) >= 2
    assert len(page.get("download_button")) == 4
    # One caption on the player: the one drawn in, no subtitle track over it.
    (video,) = page.get("video")
    assert list(video.proto.subtitles) == []


def test_upload_caption_segments_and_downloads(page, clip, monkeypatch):
    calls = []
    real = clips.make_captioned_video
    monkeypatch.setattr(
        clips, "make_captioned_video", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    page.get("file_uploader")[0].set_value(("clip.mp4", clip, "video/mp4"))
    page.run()
    caption_button(page).click()
    page.run()
    assert not page.exception and not page.error
    assert len(calls) == 1
    # The run followed the job to its end: its Cancel button went with it.
    assert [b.label for b in page.button if b.label == "Cancel"] == []
    rows = timeline_rows(page)
    assert rows[0] == ["Frame", "Time", "Caption", "Probability"]
    assert len(rows) >= 2 and rows[1][1].startswith("00:00.0 – ")
    assert all(re.fullmatch(r"\d+\.\d{4}%", row[3]) for row in rows[1:])
    labels = sorted(b.label for b in page.get("download_button"))
    assert labels == ["Download JSON", "Download MP4", "Download SRT", "Download VTT"]
    # Changing a widget reruns the page but shows the stored result without redoing the work.
    page.slider(key="captions_shown").set_value(1)
    page.run()
    assert len(calls) == 1 and len(timeline_rows(page)) >= 2


def test_a_bad_clip_is_one_error_and_the_page_keeps_working(page, clip):
    page.get("file_uploader")[0].set_value(("notes.mp4", b"not a video at all", "video/mp4"))
    page.run()
    caption_button(page).click()
    page.run()
    assert not page.exception
    assert [e.value for e in page.error] == ["notes.mp4: not a video file (ffmpeg cannot read it)"]
    page.get("file_uploader")[0].set_value(("clip.mp4", clip, "video/mp4"))
    page.run()
    caption_button(page).click()
    page.run()
    assert not page.error and len(timeline_rows(page)) >= 2


def test_picking_the_sample_clip(page):
    (picker,) = page.selectbox
    (sample,) = [option for option in picker.options if "shapes.mp4" in str(option)]
    picker.set_value(sample)
    page.run()
    caption_button(page).click()
    page.run()
    assert not page.exception and not page.error
    times = [row[1] for row in timeline_rows(page)[1:]]  # a tiny model may repeat a caption
    assert 1 <= len(times) <= 4
    assert times[0].startswith("00:00.0 – ") and times[-1].endswith(" – 00:08.0")


def run_clip(page: AppTest, name: str, data: bytes) -> None:
    page.get("file_uploader")[0].set_value((name, data, "video/mp4"))
    page.run()
    caption_button(page).click()
    page.run()


def test_a_full_disk_is_one_line(page, clip, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(clips.tempfile, "TemporaryDirectory", full)
    run_clip(page, "holiday.mp4", clip)
    assert not page.exception
    assert [e.value for e in page.error] == [
        "holiday.mp4: the server cannot store the clip (No space left on device)"
    ]


def test_a_session_keeps_two_rendered_clips_on_disk(page, clip, monkeypatch):
    calls = []
    real = clips.make_captioned_video
    monkeypatch.setattr(
        clips, "make_captioned_video", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    for every in ("1.5", "2.0", "2.5"):
        page.number_input[0].set_value(float(every))
        run_clip(page, "clip.mp4", clip)
        assert not page.error and len(timeline_rows(page)) >= 2
    store = clips.clip_store()
    assert len(calls) == 3 and len(store.session_keys(next(iter(_sessions(store))))) == 2
    assert all(entry.path.parent == store.folder for entry in store._entries.values())
    page.number_input[0].set_value(1.5)  # the first clip was dropped: no stored result for it
    page.run()
    # The newest clip stays on the page, said to be for other settings; nothing runs again.
    assert other_settings(page) == [OTHER_SETTINGS] and len(calls) == 3
    assert len(page.get("download_button")) == 4
    page.number_input[0].set_value(2.0)  # the one before is kept: shown as it is
    page.run()
    assert not other_settings(page) and len(calls) == 3 and len(page.get("download_button")) == 4


def _sessions(store) -> set[str]:
    return {session for session, _ in store._entries}


def test_a_portrait_clip_fits_the_screen(page, tmp_path):
    from fixtures.hostile import _rotated

    portrait = tmp_path / "portrait.mp4"
    _rotated(portrait, "320x180")  # shown 180 wide, 320 high
    run_clip(page, "portrait.mp4", portrait.read_bytes())
    (video,) = page.get("video")
    assert video.proto.width_config.pixel_width == round(clips.PORTRAIT_HEIGHT * 180 / 320)


def test_captioning_at_each_shot_change(page, tmp_path):
    # 25 fps: cuts at 1.2 s and 2.8 s.
    frames = shot_frames([("still", "red", 30), ("pan", "blue", 40), ("still", "green", 30)])
    data = encode(tmp_path / "shots.mp4", frames, "25").read_bytes()
    (radio,) = page.radio
    assert radio.options == ["every N seconds", "at each shot change"]
    assert radio.value == "every N seconds"  # the default is unchanged
    radio.set_value("at each shot change")
    page.number_input[0].set_value(5.0)  # longer than any shot: one sample per shot
    run_clip(page, "shots.mp4", data)
    assert not page.exception and not page.error
    rows = timeline_rows(page)
    assert rows[0] == ["Frame", "Shot", "Time", "Caption", "Probability"]
    assert [row[1] for row in rows[1:]] == ["1", "2", "3"]
    times = ["00:00.0 – 00:01.2", "00:01.2 – 00:02.8", "00:02.8 – 00:04.0"]
    assert [row[2] for row in rows[1:]] == times
    assert any("3 segment(s) in 3 shot(s)" in c.value for c in page.caption)
    # The other mode is other work: the shot result stays, said to be for other settings.
    page.radio[0].set_value("every N seconds")
    page.run()
    assert other_settings(page) == [OTHER_SETTINGS]
    assert [row[1] for row in timeline_rows(page)[1:]] == ["1", "2", "3"]


def test_the_demo_notice_is_said_once_beside_a_clip(page, clip):
    """Issue 22: the demo model's notice was said again under the captioned clip (and in the
    sidebar); once, at the top with the offer of the COCO model, is enough."""
    from ui import fetch

    run_clip(page, "clip.mp4", clip)
    assert not page.exception and not page.error and page.get("video")
    kinds = ("markdown", "caption", "text", "info", "warning", "error", "success")
    texts = [element.value for kind in kinds for element in getattr(page, kind)]
    assert [text for text in texts if "knows only" in text] == [fetch.DEMO_NOTICE]
