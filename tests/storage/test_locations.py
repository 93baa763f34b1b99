"""Where models live: the models folder of a checkout, of an installed package, and the demo."""

from __future__ import annotations

import sys

import pytest

from fixtures.fake_models import fake_bundle
from fixtures.paths import REPO
from im2txt.storage import discovery, locations


def test_env_var_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(tmp_path))
    assert locations.model_root() == tmp_path
    assert locations.coco_destination() == tmp_path / "coco"


def test_a_checkout_uses_its_model_folder(monkeypatch):
    monkeypatch.delenv("IM2TXT_MODEL_DIR", raising=False)
    assert locations.model_root() == REPO / "model"


@pytest.mark.skipif(sys.platform != "linux", reason="XDG data folder")
def test_an_installed_package_uses_the_per_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("IM2TXT_MODEL_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    site_packages = tmp_path / "site-packages"
    site_packages.mkdir()
    monkeypatch.setattr(locations, "_TOP", site_packages)  # no pyproject.toml, no model/
    assert locations.model_root() == tmp_path / "data" / "im2txt" / "models"


def test_the_demo_model_ships_inside_the_package():
    assert locations.SHIPPED_DEMO.is_relative_to(REPO / "im2txt")
    found = discovery.inspect_folder(locations.SHIPPED_DEMO)
    assert (found.kind, found.format, found.usable) == ("demo", "bundle", True)


def test_the_shipped_demo_comes_last(tmp_path):
    fake_bundle(tmp_path / "coco", name="im2txt COCO (x, float16)", kind="coco")
    found = discovery.find_models(tmp_path)
    assert [m.path for m in found] == [tmp_path / "coco", locations.SHIPPED_DEMO]
    assert discovery.default_model(tmp_path).path == tmp_path / "coco"


def test_an_empty_models_folder_falls_back_to_the_shipped_demo(tmp_path):
    assert discovery.default_model(tmp_path / "not-there-yet").path == locations.SHIPPED_DEMO


def test_a_demo_folder_in_the_models_folder_takes_the_shipped_ones_place(tmp_path):
    fake_bundle(tmp_path / "demo")
    assert [m.path for m in discovery.find_models(tmp_path)] == [tmp_path / "demo"]


def test_an_empty_demo_folder_does_not_hide_the_shipped_demo(tmp_path):
    (tmp_path / "demo").mkdir()  # what an old checkout can keep after the demo moved
    assert discovery.default_model(tmp_path).path == locations.SHIPPED_DEMO
