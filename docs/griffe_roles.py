"""A griffe extension for the API reference: reST habits of the docstrings as Markdown.

scalelaw's docstrings name objects the Sphinx way (``:func:`scalelaw.fit```,
``:class:`~scalelaw.fitting.FitResult```, ``:mod:`.engine```).  Markdown has no such roles,
so mkdocstrings would print the role name beside the code.  This extension rewrites each
role to a plain code span before the docstring is parsed: ``~a.b.C`` becomes ``C`` (the
Sphinx meaning of the tilde), anything else stays as written.  No links are made, so a
role naming a private module or a relative name cannot break the strict build.  Doctest
lines (``>>> ...`` and what follows them up to a blank line) become a code block, which
Markdown would otherwise read as nested quotes, and so do reST simple tables (rows between
``====  ====`` borders), which Markdown would run together into one paragraph.  Configured in mkdocs.yml (``extensions:``
of the python handler).
"""
from __future__ import annotations

import re

from griffe import Extension

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const|term):`([^`]+)`")


def _code(match: re.Match) -> str:
    target = match.group(1).strip()
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def strip_roles(text: str) -> str:
    """``:func:`x``` -> ```x```; ``:class:`~a.b.C``` -> ```C```."""
    return ROLE.sub(_code, text)


DOCTEST = re.compile(r"^\s*>>>")


def fence_doctests(text: str) -> str:
    """Runs of doctest lines (a ``>>>`` line and the lines after it up to a blank one) in a
    fenced ``pycon`` block."""
    out, block = [], []
    for line in text.splitlines():
        if block and not line.strip():
            out += ["```pycon", *block, "```"]
            block = []
        if block or DOCTEST.match(line):
            block.append(line)
        else:
            out.append(line)
    if block:
        out += ["```pycon", *block, "```"]
    return "\n".join(out)


BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")


def fence_tables(text: str) -> str:
    """reST simple tables (from a ``===  ===`` border to the border followed by a blank
    line or the end) in a fenced ``text`` block, their columns kept aligned."""
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        if BORDER.match(lines[i]):
            j = i + 1
            while j < len(lines) and not (BORDER.match(lines[j])
                                          and (j + 1 == len(lines) or not lines[j + 1].strip())):
                j += 1
            if j < len(lines):
                out += ["```text", *lines[i:j + 1], "```"]
                i = j + 1
                continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


class SphinxRolesAsCode(Extension):
    """Rewrite Sphinx roles in every docstring to Markdown code spans; fence doctests and
    reST simple tables."""

    def on_object(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_tables(fence_doctests(strip_roles(obj.docstring.value)))
