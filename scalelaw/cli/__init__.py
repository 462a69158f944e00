"""The ``scalelaw`` command: a thin layer over the public API.

Each subcommand lives in its own module ``scalelaw.cli.<name>`` exposing ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int``.  Command modules import only
argparse at top level; heavy libraries are imported inside ``run`` so that
``scalelaw --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand -> module; the order is the order shown in --help
COMMANDS = ("demo", "fit", "predict", "allocate", "plan", "schedule", "inspect", "source", "train", "sweep")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scalelaw",
        description="Fit scaling laws and LR-schedule laws to training runs; predict and plan.")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"scalelaw {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = importlib.import_module(f"{__name__}.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input)."""
    from ..errors import ScalelawError

    _one_line_warnings()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits on --help and on usage errors
        return int(e.code or 0)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except ScalelawError as e:
        from ._common import error_text
        print(f"scalelaw {args.command}: error: {error_text(e)}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
        print(f"scalelaw {args.command}: error: {e.strerror}: {e.filename}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not a user error: one line unless debugging
        import os
        if os.environ.get("SCALELAW_DEBUG"):
            raise
        print(f"scalelaw {args.command}: internal error: {type(e).__name__}: {e} "
              "(please report it; SCALELAW_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


def _one_line_warnings() -> None:
    """Show scalelaw's own warnings as ``warning: message`` (no source line)."""
    import warnings

    from ..errors import ScalelawWarning
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ScalelawWarning):
            print(f"warning: {message}", file=file or sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)
    warnings.showwarning = show


def entry() -> None:  # pragma: no cover - console-script shim
    sys.exit(main())
