"""The exceptions the library raises: each message is one line naming the input and the problem."""


class Im2txtError(Exception):
    """Base class: anything the user can fix (a bad file, a wrong folder). Never a bug."""


class ModelError(Im2txtError):
    """A model folder, checkpoint, vocabulary or weights file that cannot be used."""


class ImageError(Im2txtError):
    """An image that cannot be captioned: missing, not an image, truncated, too large."""


class VideoError(Im2txtError):
    """A video that cannot be captioned or rendered."""


class DownloadError(Im2txtError):
    """A model that cannot be fetched: bad URL, HTTP error, wrong checksum, unusable archive."""
