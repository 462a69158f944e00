"""The one error type scalelaw raises for problems the user can fix, and its warning.

The CLI turns a :class:`ScalelawError` into a one-line message and a non-zero exit;
anything else escaping is a bug in scalelaw.

Library messages are neutral: they say what is wrong and what to do without naming a
Python keyword or a command-line flag.  When the remedy is an option, the error carries its
name in :attr:`ScalelawError.option`; ``str(error)`` then ends with the Python spelling
(``(fix={name: value})``) and the CLI prints its flag instead (``(--fix P=V)``).  A message
that names the option before the value it quotes (``cannot parse where 'N >>> 3'``) gets
no suffix; the CLI puts the flag in that place (``cannot parse --where 'N >>> 3'``).
"""
from __future__ import annotations

#: how each option a message may point at is spelled in Python (the CLI has its own table)
PYTHON_SPELLING = {
    "fix": "fix={name: value}",
    "start": "start={name: value}",
    "bounds": "bounds={name: (lo, hi)}",
    "where": "where='EXPR'",
    "holdout": "holdout='EXPR'",
    "x": "columns={variable: column}",
    "y": "columns={'loss': column}",
    "step": "columns={'step': column}",
    "lr": "columns={'lr': column}",
    "loss": "columns={'loss': column}",
    "run": "columns={'run': column}",
    "format": "format=NAME",
    "groups": "groups=...",
    "amplitude": "amplitude='free'",
    "split": "split='train' or 'val'",
    "strict": "strict=False",
    "space": "space='linear'",
}


class ScalelawError(ValueError):
    """Bad input, stated in one line: what is wrong and what to do about it.

    ``option``: the name of the option the remedy uses (a key of :data:`PYTHON_SPELLING`),
    so that each interface can spell it its own way.
    """

    def __init__(self, message: str = "", *, option: str | None = None):
        super().__init__(message)
        self.message = message
        self.option = option

    def __str__(self) -> str:
        spelled = PYTHON_SPELLING.get(self.option or "")
        if not spelled or mentions(self.message, self.option):
            return self.message
        return f"{self.message} ({spelled})"

    def __reduce__(self):   # keeps ``option`` through pickling (process pools)
        return (_rebuild, (type(self), self.message, self.option))


def mention(message: str, option: str):
    """Where ``message`` names ``option`` as the thing it quotes (``cannot parse where
    'N >>> 3'``, ``unknown column 'z' in where 'C > 1'``): the match, else None.  Only
    that form counts; the same word elsewhere (a column named x) is just a word."""
    import re
    return re.search(rf"(?<![\w-]){re.escape(option)}(?= ')", message)


def mentions(message: str, option: str) -> bool:
    """Whether ``message`` names ``option`` (see :func:`mention`; then no spelling is
    appended)."""
    return mention(message, option) is not None


def _rebuild(cls, message, option):
    return cls(message, option=option)


class ScalelawWarning(UserWarning):
    """Something the user should know (extrapolation, dropped rows, ...) that is not fatal."""


def deprecated(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that keyword/name ``old`` is deprecated in favour of ``new`` (kept one release)."""
    import warnings
    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new}",
                  DeprecationWarning, stacklevel=stacklevel)
