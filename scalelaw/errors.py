"""The one error type scalelaw raises for problems the user can fix.

The CLI turns a :class:`ScalelawError` into a one-line message and a non-zero exit;
anything else escaping is a bug in scalelaw.
"""


class ScalelawError(ValueError):
    """Bad input, stated in one line: what is wrong and what to do about it."""


class ScalelawWarning(UserWarning):
    """Something the user should know (extrapolation, dropped rows, ...) that is not fatal."""
