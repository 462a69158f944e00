"""The path ``-``: standard input, copied once per process into a temporary file (in 1 MiB
chunks, so memory stays bounded) that every reader can then open, sniff and reread.  The
copy is removed when the process exits."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

STDIN = "-"
_spooled: dict[int, str] = {}   # id(sys.stdin) -> copy (a replaced stdin is copied anew)


def resolve(path: str) -> str:
    """``path``, or the spooled copy of standard input for ``-``."""
    if path != STDIN:
        return path
    key = id(sys.stdin)
    if key not in _spooled:
        d = tempfile.mkdtemp(prefix="scalelaw-stdin-")
        atexit.register(shutil.rmtree, d, True)
        p = os.path.join(d, "stdin")
        src = getattr(sys.stdin, "buffer", None)
        with open(p, "wb") as f:
            if src is not None:
                shutil.copyfileobj(src, f, 1 << 20)
            else:   # a text stream without a buffer (tests, notebooks)
                for chunk in iter(lambda: sys.stdin.read(1 << 20), ""):
                    f.write(chunk.encode("utf-8"))
        _spooled[key] = p
    return _spooled[key]


def is_stdin(path) -> bool:
    return isinstance(path, str) and path == STDIN
