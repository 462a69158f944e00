"""Atomic file writes (kept for existing imports): see :mod:`scalelaw._output`, the one
writer every output goes through (symlinks written through, special files refused, the
umask honoured, ``-`` for standard output)."""
from __future__ import annotations

from ._output import atomic_path, open_output, write_bytes, write_text

__all__ = ["atomic_path", "open_output", "write_bytes", "write_text"]
