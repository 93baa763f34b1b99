"""The store of rendered clips: bounded per session and in bytes for the whole server, on disk."""

from __future__ import annotations

import threading

from ui.clip_store import ClipStore


def rendered(tmp_path, name: str, size: int):
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(b"x" * size)
    return path


def test_each_session_keeps_its_last_clips(tmp_path):
    store = ClipStore(tmp_path / "store", per_session=2, max_bytes=10_000)
    paths = [store.put("a", f"k{i}", rendered(tmp_path, f"a{i}", 100), i) for i in range(3)]
    store.put("b", "k0", rendered(tmp_path, "b0", 100), "b")
    assert store.session_keys("a") == ["k1", "k2"] and store.session_keys("b") == ["k0"]
    assert store.get("a", "k0") is None and not paths[0].exists()  # its file went with it
    assert store.get("a", "k2").extra == 2 and paths[2].read_bytes() == b"x" * 100
    assert store.get("b", "k2") is None  # one session never sees another's clips


def test_the_server_keeps_at_most_max_bytes_oldest_first(tmp_path):
    store = ClipStore(tmp_path / "store", per_session=2, max_bytes=250)
    for session in "abc":
        store.put(session, "k", rendered(tmp_path, session, 100), session)
    assert store.total_bytes == 200
    assert store.get("a", "k") is None and store.get("c", "k").extra == "c"
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["2.mp4", "3.mp4"]


def test_the_same_key_again_replaces_its_clip(tmp_path):
    store = ClipStore(tmp_path / "store")
    first = store.put("a", "k", rendered(tmp_path, "one", 10), 1)
    second = store.put("a", "k", rendered(tmp_path, "two", 20), 2)
    assert not first.exists() and store.get("a", "k").path == second and store.total_bytes == 20


def test_sessions_storing_at_once(tmp_path):
    store = ClipStore(tmp_path / "store", per_session=1, max_bytes=5 * 100)

    def session(name: str) -> None:
        for i in range(20):
            store.put(name, str(i), rendered(tmp_path, f"{name}-{i}", 100), i)

    threads = [threading.Thread(target=session, args=(str(n),)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.total_bytes <= 500
    assert len(list((tmp_path / "store").iterdir())) == store.total_bytes // 100
