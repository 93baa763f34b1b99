"""INPUT expansion for `batch`: folders, glob patterns, @lists, URIs; order kept, each name once."""

from __future__ import annotations

import os

import pytest

from im2txt.batch.inputs import expand_inputs, image_files, is_uri
from im2txt.errors import Im2txtError


@pytest.fixture
def archive(tmp_path, monkeypatch):
    """photos/{b.png, a.jpg, .hidden.jpg, notes.txt, 2024/{c.JPG, d.webp}}; cwd = tmp_path."""
    monkeypatch.chdir(tmp_path)
    for name in ("b.png", "a.jpg", ".hidden.jpg", "notes.txt", "2024/c.JPG", "2024/d.webp"):
        path = tmp_path / "photos" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not decoded here")
    return tmp_path


def test_a_folder_is_walked_recursively_for_images_sorted(archive):
    assert expand_inputs(["photos"]) == [
        os.path.join("photos", "2024", "c.JPG"),
        os.path.join("photos", "2024", "d.webp"),
        os.path.join("photos", "a.jpg"),
        os.path.join("photos", "b.png"),
    ]


def test_glob_patterns_match_images_only_sorted_with_recursive_stars(archive):
    assert expand_inputs(["photos/*"]) == [
        # the matched folder is walked; notes.txt is no image
        "photos/2024/c.JPG", "photos/2024/d.webp", "photos/a.jpg", "photos/b.png",
    ]  # fmt: skip
    assert expand_inputs(["photos/**/*.webp"]) == ["photos/2024/d.webp"]


def test_a_pattern_or_file_that_matches_nothing_is_kept_so_it_becomes_an_error_row(archive):
    assert expand_inputs(["photos/*.gif", "photos/missing.jpg"]) == [
        "photos/*.gif",
        "photos/missing.jpg",
    ]


def test_a_list_file_names_paths_folders_patterns_and_uris(archive):
    (archive / "list.txt").write_text(
        "# my archive\n"
        "photos/b.png\n"
        "\n"
        "  s3://bucket/x.jpg  \n"
        "photos/2024\n"
        "https://example.org/y.png\n"
    )
    assert expand_inputs(["@list.txt"]) == [
        "photos/b.png",
        "s3://bucket/x.jpg",
        os.path.join("photos/2024", "c.JPG"),
        os.path.join("photos/2024", "d.webp"),
        "https://example.org/y.png",
    ]


def test_order_is_kept_and_each_name_appears_once(archive):
    (archive / "list.txt").write_text("photos/a.jpg\nphotos/b.png\n")
    assert expand_inputs(["photos/b.png", "@list.txt", "photos/b.png"]) == [
        "photos/b.png",
        "photos/a.jpg",
    ]


def test_an_unreadable_list_is_one_clear_error(archive):
    with pytest.raises(Im2txtError, match=r"^@nowhere.txt: cannot read the list"):
        expand_inputs(["@nowhere.txt"])
    (archive / "binary.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(Im2txtError, match="not a text file of paths"):
        expand_inputs(["@binary.txt"])


def test_uris_are_recognised_by_their_scheme():
    assert is_uri("s3://b/k.jpg") and is_uri("file:///tmp/a.png") and is_uri("gs://b/a")
    assert not is_uri("photos/a.jpg") and not is_uri("C:\\photos\\a.jpg")


def test_caption_keeps_its_own_rules_files_as_given_folders_walked(archive):
    # `caption` does not expand patterns (its shell does) and keeps a missing file as given.
    assert image_files(["photos/2024", "photos/*.png"]) == [
        os.path.join("photos/2024", "c.JPG"),
        os.path.join("photos/2024", "d.webp"),
        "photos/*.png",
    ]


def test_folders_and_patterns_list_every_file_the_loader_reads_or_answers(tmp_path, monkeypatch):
    """The walk's list is the loader's (image_formats): HEIC, AVIF, MPO, JPEG 2000, TGA and ICO
    files are listed, and drawings (SVG) too, to be told what to do; clips, documents and notes
    are not pictures."""
    monkeypatch.chdir(tmp_path)
    pictures = ["IMG_0001.HEIC", "a.avif", "b.mpo", "c.jp2", "d.tga", "e.ico", "f.svg", "g.jpg"]
    others = ["clip.mp4", "notes.txt", "scan.pdf", ".hidden.heic", "README"]
    for name in pictures + others:
        (tmp_path / "photos").mkdir(exist_ok=True)
        (tmp_path / "photos" / name).write_bytes(b"not decoded here")
    expected = [os.path.join("photos", name) for name in sorted(pictures)]
    assert expand_inputs(["photos"]) == expected == image_files(["photos"])
    assert expand_inputs(["photos/*"]) == expected
