"""What a file's first bytes say before any parser sees it (shared by detection and the
binary readers)."""
from __future__ import annotations

import os
import stat

from ..errors import ScalelawError

class NotALogError(ScalelawError):
    """The file holds no training log (a config, a README, a table of runs): in a directory
    such a file is a note, not a warning."""


class RunTableError(NotALogError):
    """A table of runs (one row per run) was given where a training log was expected.
    ``report`` describes the table (``scalelaw inspect`` prints it)."""

    def __init__(self, message: str, report: dict | None = None, *, option: str | None = None):
        super().__init__(message, option=option)
        self.report = report or {}


HEAD = 65536
LFS_MAGIC = b"version https://git-lfs.github.com/spec/v1"
LFS_MESSAGE = "Git LFS pointer: run git lfs pull"


def read_head(path: str, n: int = HEAD) -> bytes:
    """The first ``n`` bytes of a regular file; a one-line error for anything else."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ScalelawError(f"{path}: unreadable: {e.strerror}") from e
    if not stat.S_ISREG(st.st_mode):
        raise ScalelawError(f"{path}: not a regular file (a pipe, device or socket); "
                            f"give a log file")
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as e:
        raise ScalelawError(f"{path}: unreadable: {e.strerror}") from e


def content_problem(head: bytes, text: bool = True) -> str | None:
    """Why no reader can use a file that starts with ``head`` (``None``: nothing found).
    ``text``: the format is a text format, so NUL bytes mean binary content."""
    if head.startswith(LFS_MAGIC):
        return LFS_MESSAGE
    if head[:2] == b"\x1f\x8b":
        return "gzip-compressed: decompress it first (gunzip)"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "a zip archive: extract it first"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16 text: save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)"
    if text and b"\x00" in head:
        return "binary content (NUL bytes), not a text log"
    return None
