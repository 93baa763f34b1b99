"""The named models `download` knows: where each is published, with the published sizes and digests.

Google never released im2txt weights; these are the community checkpoints people use, trained with
the original code (tensorflow/models#466). A source is one way of getting a model's files; they
are tried in order, and every size and digest written here is checked. Small files come first in
a source, so that a wrong one is found before the 149 MB transfer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from im2txt.errors import DownloadError
from im2txt.storage.fetch import check_url, normalised_sha256, public_url
from im2txt.storage.locations import COCO_FOLDER

_KRANTHIGV = "https://raw.githubusercontent.com/KranthiGV/Pretrained-Show-and-Tell-model/master"
_IBM = "https://raw.githubusercontent.com/IBM/MAX-Image-Caption-Generator/master"
_DRIVE = "https://drive.google.com/uc?export=download&id="
# IBM's tarball, from the object storage IBM moved its Model Asset Exchange files to when its CDN
# (max-cdn.cdn.appdomain.cloud, which the caption generator's Dockerfile still names) stopped
# resolving in 2021-22: IBM/MAX-Image-Caption-Generator#77, whose fix (#78) was never merged; the
# same move was merged in IBM's sibling repositories (IBM/MAX-Image-Resolution-Enhancer#55, #59).
# Same path, same tarball: IBM's published SHA-512s of its members are checked below. The CDN is
# not tried as well: a host that no longer resolves only adds a failure to every message.
_MAX_TARBALL = (
    "https://codait-cos-max.s3.us.cloud-object-storage.appdomain.cloud/"
    "max-image-caption-generator/1.0.0/assets.tar.gz"
)
# KranthiGV's word_counts.txt; IBM's repository holds a byte-identical copy (assets/).
_VOCAB_SHA256 = "18e80c920db50056e39fb7c310421836ee96786bb0da0ebc05d7b6117c45363a"
_VOCAB_SIZE = 121_881
_MIT = "MIT (Copyright (c) 2017 Kranthi Kiran GV)"
_MIT_URL = "https://github.com/KranthiGV/Pretrained-Show-and-Tell-model/blob/master/LICENSE"


@dataclass(frozen=True)
class ArchiveMember:
    """A file inside a published archive that the model needs."""

    # Its path inside the archive.
    path: str
    # The name it is installed under in the model folder.
    name: str
    # Published digests by hashlib name ("sha256", "sha512").
    digests: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteFile:
    """One file of a source, as published."""

    # Its file name: what it is installed as (archives: what the mirror holds it as).
    name: str
    url: str
    # Published size in bytes, or None.
    size: int | None = None
    # Published digests by hashlib name ("sha256", "sha512"); empty when none is published.
    digests: dict[str, str] = field(default_factory=dict)
    # A Google Drive link: a large file comes after a confirmation page.
    drive: bool = False
    # An archive, unpacked: its listed `members` are installed (the rest of it is not used), or,
    # with none listed, the one model found in it.
    archive: bool = False
    members: tuple[ArchiveMember, ...] = ()

    @property
    def label(self) -> str:
        """The file as messages name it: its URL, with its name first when the URL's path does
        not end with it (a Drive link)."""
        url = public_url(self.url)
        named = (urlsplit(self.url).path or "/").endswith(f"/{self.name}")
        return url if named else f"{self.name} ({url})"


@dataclass(frozen=True)
class Source:
    """One place a model can be fetched from: all its files come from here."""

    # For people; "" for a one-off archive, whose errors name its URL alone.
    label: str
    files: tuple[RemoteFile, ...]


@dataclass(frozen=True)
class NamedModel:
    name: str
    # One line for people.
    description: str
    licence: str
    licence_url: str
    # Bytes of the weights file, for people ("149 MB").
    size: int
    # The folder of the models folder it is installed in by default.
    folder: str
    # Tried in order.
    sources: tuple[Source, ...]


def _kranthigv(step: int, drive_id: str, data_size: int | None, index_sha256: str) -> Source:
    prefix = f"model.ckpt-{step}"
    return Source(
        "KranthiGV (Google Drive + GitHub)",
        (
            RemoteFile(
                f"{prefix}.index",
                f"{_KRANTHIGV}/{prefix}.index",
                16_876,
                {"sha256": index_sha256},
            ),
            RemoteFile(
                "word_counts.txt",
                f"{_KRANTHIGV}/word_counts.txt",
                _VOCAB_SIZE,
                {"sha256": _VOCAB_SHA256},
            ),
            RemoteFile(f"{prefix}.data-00000-of-00001", _DRIVE + drive_id, data_size, drive=True),
        ),
    )


def _max_member(name: str, sha512: str) -> ArchiveMember:
    return ArchiveMember(f"checkpoint/{name}", name, {"sha512": sha512})


# IBM's Model Asset Exchange: KranthiGV's 2M checkpoint re-saved as model2.ckpt-2000000, one
# tarball in IBM's object storage; the SHA-512s are IBM's own (sha512sums.txt in its repository),
# and the vocabulary its service reads is in the repository (assets/word_counts.txt).
_MAX_2M = Source(
    "IBM Model Asset Exchange",
    (
        RemoteFile(
            "word_counts.txt",
            f"{_IBM}/assets/word_counts.txt",
            _VOCAB_SIZE,
            {"sha256": _VOCAB_SHA256},
        ),
        RemoteFile(
            "assets.tar.gz",
            _MAX_TARBALL,
            archive=True,
            members=(
                _max_member(
                    "checkpoint",
                    "dd6bcd865046b826bfb9559253c8114aa5db0b07ec6c329d25df712a7a2aaab0"
                    "19d5e82f3b7807dd162ad034ce8e6a0bdd3c54ab38868172cdd1a881faa030d1",
                ),
                _max_member(
                    "model2.ckpt-2000000.data-00000-of-00001",
                    "eda91f4245224b43dd6c36f16dd49c30bb65d0aea51ca84a13a710bd1b18454e"
                    "590cd2ff7822afe9e8501a7fa1c0ff9ec98b3dca55ed8415436d95e0f1a48c52",
                ),
                _max_member(
                    "model2.ckpt-2000000.index",
                    "39293d83b5d1988537e44810027bb32f7d5f09148da086f4dde1ce1f18f8a53c"
                    "c8a67cb415e3ae151d618f15975af796dec2cfbf769bb36168ced81494f90dee",
                ),
                _max_member(
                    "model2.ckpt-2000000.meta",
                    "acc365f7f48a67a0eee1815dd64bbdad960a7d371cee10e99b295510cae95932"
                    "567e6af4faafcfb01092ff63c205d9ccf5702fbbc2d2c9c7f59445f5f098e60d",
                ),
            ),
        ),
    ),
)

CATALOGUE: tuple[NamedModel, ...] = (
    NamedModel(
        name="coco-2m",
        description="Show and Tell on MSCOCO, 2M steps with Inception v3 fine-tuned "
        "(KranthiGV; perplexity 8.44): the checkpoint most people use",
        licence=_MIT,
        licence_url=_MIT_URL,
        size=149_002_244,
        folder=COCO_FOLDER,
        sources=(
            _MAX_2M,
            _kranthigv(
                2_000_000,
                "0B3laN3vvvSD2T1RPeDA5djJ6bFE",
                # The size a user reported (KranthiGV issue #7): 37,250,561 tensors x 4 bytes.
                149_002_244,
                "0bff92fec25b1905900a112b3c3250e0a8ab0a7303256df76824bc046ae66a5f",
            ),
        ),
    ),
    NamedModel(
        name="coco-1m",
        description="Show and Tell on MSCOCO, 1M steps with Inception v3 frozen "
        "(KranthiGV); its author found it captions some photos better",
        licence=_MIT,
        licence_url=_MIT_URL,
        size=149_002_244,
        folder="coco-1m",
        sources=(
            # No size or digest is published for this .data file; the CRC of every tensor is
            # still checked against the index. The index's SHA-256 is that of the file in
            # KranthiGV's repository (commit 152ed6b7, git blob 56dfc46a).
            _kranthigv(
                1_000_000,
                "0B3laN3vvvSD2WWxuR3VRQzhycWM",
                None,
                "28ae31ae48134c1d74825b932ffbf60398984ab869be7c7ce8a55e894a371e05",
            ),
        ),
    ),
)

DEFAULT_MODEL = "coco-2m"


def model_names() -> list[str]:
    return [model.name for model in CATALOGUE]


def find_model(name: str, mirror: str | None = None) -> NamedModel:
    """The catalogue's model of that name, with `mirror` its sources' files from there (see
    mirrored); DownloadError naming the known ones otherwise."""
    for model in CATALOGUE:
        if model.name != name:
            continue
        if mirror is None:
            return model
        check_url(mirror)
        return replace(model, sources=tuple(mirrored(s, mirror) for s in model.sources))
    raise DownloadError(
        f"{name!r} is not a model im2txt knows (known: {', '.join(model_names())}); "
        "give an http(s) URL of an archive instead"
    )


def one_off(url: str, sha256: str | None = None) -> NamedModel:
    """An archive at `url` (its SHA-256 checked when given) as a model with one source: what
    `download URL` installs, in the COCO folder by default. Nothing is published about it, so
    its one-line errors name the URL alone, and install records nothing beside it."""
    check_url(url)
    digests = {"sha256": normalised_sha256(sha256)} if sha256 else {}
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    archive = RemoteFile(name, url, digests=digests, archive=True)
    public = public_url(url)
    return NamedModel(
        public, f"the archive at {public}", "", "", 0, COCO_FOLDER, (Source("", (archive,)),)
    )


def mirrored(source: Source, mirror: str) -> Source:
    """The same source with every file fetched from `mirror`, a folder (URL) holding the files
    under their own names; the published sizes and digests still apply."""
    base = mirror.rstrip("/")
    files = tuple(replace(f, url=f"{base}/{f.name}", drive=False) for f in source.files)
    return Source(f"{source.label} layout, from the mirror", files)
