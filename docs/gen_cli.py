"""The CLI reference, generated from the argument parser (never written by hand).

``render()`` walks ``scalelaw.cli.build_parser()`` and returns Markdown: the top-level usage,
then for each command in ``scalelaw.cli.COMMANDS`` its usage, description and a table of
every argument (positionals and options, with metavar, default and choices).  mkdocs runs
it at build time through the ``on_files`` hook below (mkdocs.yml: ``hooks:``), so the page
``cli.md`` exists only in the built site and cannot go stale.  By hand::

    python docs/gen_cli.py > /tmp/cli.md
"""
from __future__ import annotations

import argparse
import re

PAGE = "cli.md"


def _escape(text: str) -> str:
    """Help text as Markdown: whitespace joined, no emphasis, links, HTML or table-cell
    breaks; spans in backticks (code) are kept as they are."""
    parts = re.split(r"(`[^`]+`)", " ".join(str(text).split()))
    return "".join(p if p.startswith("`") and p.endswith("`") and len(p) > 1
                   else re.sub(r"([\\*_\[\]<>|#])", r"\\\1", p) for p in parts)


def _help(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    """The help text as ``--help`` shows it (``%(default)s`` and friends expanded)."""
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    return parser._get_formatter()._expand_help(action)


def _argument(action: argparse.Action) -> str:
    """How the argument is written: ``--law LAW``, ``-h, --help``, ``FILE [FILE ...]``."""
    fmt = argparse.HelpFormatter("scalelaw")
    if action.option_strings:
        if action.nargs == 0:
            return ", ".join(action.option_strings)
        args = fmt._format_args(action, fmt._get_default_metavar_for_optional(action))
        return ", ".join(f"{o} {args}" for o in action.option_strings)
    return fmt._format_args(action, fmt._get_default_metavar_for_positional(action))


def _default(action: argparse.Action) -> str:
    d = action.default
    if action.nargs == 0 or d is None or d is argparse.SUPPRESS or d == [] or action.required:
        return ""
    return repr(d) if isinstance(d, str) else str(d)


def _description(text: str) -> list[str]:
    """Prose lines joined into paragraphs; indented lines (examples) kept as a code block."""
    out, para, code = [], [], []

    def flush():
        if para:
            out.extend([_escape(" ".join(para)), ""])
            para.clear()
        if code:
            out.extend(["```", *code, "```", ""])
            code.clear()

    for line in (text or "").splitlines():
        if line.startswith("  ") and line.strip():
            if para:
                flush()
            code.append(line.strip())
        elif not line.strip():
            flush()
        else:
            if code:
                flush()
            para.append(line.strip())
    flush()
    return out


def _table(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | default | description |", "|---|---|---|"]
    exclusive = {id(a): g for g in parser._mutually_exclusive_groups for a in g._group_actions}
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.help != argparse.SUPPRESS
                   and not isinstance(a, argparse._SubParsersAction)]   # commands: listed above
        if not actions:
            continue
        if group.title not in ("positional arguments", "options", "optional arguments"):
            rows.append(f"| **{_escape(group.title)}** | | {_escape(group.description or '')} |")
        for a in actions:
            text = _escape(_help(a, parser))
            if a.choices:
                text += f" (one of: {', '.join(f'`{c}`' for c in a.choices)})"
            g = exclusive.get(id(a))
            if g is not None:
                others = [o.option_strings[0] for o in g._group_actions if o is not a and o.option_strings]
                text += f" (not with {', '.join(f'`{o}`' for o in others)})"
            if a.required and a.option_strings:
                text += " (required)"
            default = _default(a)
            rows.append(f"| `{_argument(a)}` | {f'`{default}`' if default else ''} | {text} |")
    return rows


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers of the top-level parser, in their order."""
    out = {}
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            out.update(a.choices)
    return out


def render() -> str:
    from scalelaw.cli import COMMANDS, build_parser
    parser = build_parser()
    subs = commands(parser)
    helps = {a.dest: a.help for p in parser._actions if isinstance(p, argparse._SubParsersAction)
             for a in p._choices_actions}
    lines = ["# Command line", "",
             "Generated from `scalelaw.cli.build_parser()` when the site is built "
             "(`docs/gen_cli.py`); `scalelaw COMMAND --help` prints the same.", "",
             "```", parser.format_usage().strip(), "```", "",
             *_description(parser.description), *_description(parser.epilog), "",
             "| command | what it does |", "|---|---|"]
    lines += [f"| [`{n}`](#scalelaw-{n}) | {_escape(helps.get(n, ''))} |" for n in COMMANDS]
    lines += ["", "Top-level options:", "", *_table(parser), ""]
    for name in COMMANDS:
        sub = subs[name]
        lines += [f"## scalelaw {name}", "", "```", sub.format_usage().strip(), "```", "",
                  *_description(sub.description), *_table(sub), ""]
    return "\n".join(lines) + "\n"


def on_files(files, config):
    """mkdocs hook: add the generated page to the site's files."""
    from mkdocs.structure.files import File
    files.append(File.generated(config, PAGE, content=render()))
    return files


if __name__ == "__main__":
    print(render(), end="")
