"""The shapes of progress callbacks: one name for each, used wherever that shape is.

The library reports progress by calling what its caller gave it; the CLI draws bars on stderr,
the app `st.progress`. Value types only: nothing of the package is imported here.
"""

from __future__ import annotations

from collections.abc import Callable

# (images done, images in all): Captioner.caption_many/caption_each, batch.caption_archive,
# the demo's scenes drawn and scored.
ImageProgress = Callable[[int, int], None]

# (stage, done, total): a video's stages, "shots" (frames searched for cuts), "captioning"
# (samples) or "rendering" (frames). Totals are estimates from the header until the last call,
# where done == total.
StageProgress = Callable[[str, int, int], None]

# (bytes received, bytes expected or None when the server does not say): one download.
ByteProgress = Callable[[int, int | None], None]

# (file name, bytes received, bytes expected or None): a model's files, one after another.
FileProgress = Callable[[str, int, int | None], None]
