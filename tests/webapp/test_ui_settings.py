"""The operator's settings (ui/fetch.py): what a hosted app may fetch, and who may start it."""

from __future__ import annotations

import pytest

from im2txt.errors import DownloadError
from ui.fetch import (
    ENVIRONMENT_KEYS,
    ModelSource,
    configured_model_source,
    visitors_may_download,
)


@pytest.fixture(autouse=True)
def no_environment(monkeypatch):
    for name in ENVIRONMENT_KEYS:
        monkeypatch.delenv(name, raising=False)


def test_by_default_the_catalogue_s_coco_2m_and_nothing_at_start():
    source = configured_model_source()
    assert source == ModelSource("coco-2m")
    assert (source.url, source.mirror, source.fetch_on_start, source.visitors) == (
        None, None, False, None,
    )  # fmt: skip
    assert source.size == 149_002_244
    assert configured_model_source({"other": "x"}) == ModelSource("coco-2m")


def test_the_operator_s_own_archive(monkeypatch):
    monkeypatch.setenv("IM2TXT_MODEL_URL", "https://example.org/env.tgz")
    assert configured_model_source(None) == ModelSource(None, "https://example.org/env.tgz")
    monkeypatch.setenv("IM2TXT_MODEL_SHA256", "AB" * 32)
    assert configured_model_source({}).sha256 == "ab" * 32
    assert configured_model_source({}).size is None

    # Secrets win, and every setting comes from the same place as the others.
    secrets = {"model_url": "https://example.org/secret.tgz"}
    assert configured_model_source(secrets) == ModelSource(None, "https://example.org/secret.tgz")
    secrets["model_sha256"] = "cd" * 32
    assert configured_model_source(secrets).sha256 == "cd" * 32


def test_fetch_on_start_takes_a_yes_or_a_catalogue_name(monkeypatch):
    assert not configured_model_source({"model_fetch_on_start": False}).fetch_on_start
    assert configured_model_source({"model_fetch_on_start": True}).fetch_on_start  # TOML true
    named = configured_model_source({"model_fetch_on_start": "coco-1m"})
    assert (named.name, named.fetch_on_start) == ("coco-1m", True)
    monkeypatch.setenv("IM2TXT_MODEL_FETCH_ON_START", "yes")
    assert configured_model_source(None).fetch_on_start
    assert not configured_model_source({"model_mirror": "https://m.example/"}).fetch_on_start
    with pytest.raises(DownloadError, match=r"'coco-9m' is not a model im2txt knows"):
        configured_model_source({"model_fetch_on_start": "coco-9m"})
    with pytest.raises(DownloadError, match=r"names 'coco-1m' but model_url is set"):
        configured_model_source(
            {"model_fetch_on_start": "coco-1m", "model_url": "https://example.org/m.tgz"}
        )


def test_bad_settings_are_one_line():
    with pytest.raises(DownloadError, match=r"only http:// and https://"):
        configured_model_source({"model_url": "file:///etc/passwd"})
    with pytest.raises(DownloadError, match=r"only http:// and https://"):
        configured_model_source({"model_mirror": "ftp://mirror.example/im2txt"})
    with pytest.raises(DownloadError, match=r"SHA-256 must be 64 hexadecimal digits"):
        configured_model_source({"model_url": "https://example.org/m.tgz", "model_sha256": "x"})
    with pytest.raises(DownloadError, match=r"must be true, false or auto, got 'sometimes'"):
        configured_model_source({"model_visitor_download": "sometimes"})


@pytest.mark.parametrize(
    ("setting", "app_url", "allowed"),
    [
        ("", "http://localhost:8501/image", True),
        ("auto", "http://127.0.0.1:8501/", True),
        ("", "http://[::1]:8501/", True),
        ("", "https://im2txt-demo.streamlit.app/", False),
        ("", "http://192.168.1.20:8501/", False),
        ("", None, False),  # no browser: not known to be local
        ("true", "https://im2txt-demo.streamlit.app/", True),
        ("false", "http://localhost:8501/", False),
    ],
)
def test_who_may_start_the_download(setting, app_url, allowed):
    source = configured_model_source({"model_visitor_download": setting} if setting else {})
    assert visitors_may_download(source, app_url) is allowed
