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
COMMANDS = ("demo", "fit", "predict", "allocate", "compare", "plan", "suggest", "report", "schedule", "inspect", "source", "train", "sweep")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``only`` (a command name, or "" for none), only that
    command's options are added (every command is still listed with its help line): what
    :func:`main` builds, since one run uses one command (all commands' options take about
    25 ms to build)."""
    parser = argparse.ArgumentParser(
        prog="scalelaw",
        description="Fit scaling laws and LR-schedule laws to training runs; predict and plan.",
        epilog="Exit status: 0 done, 2 a problem with the input or the options (one line on "
               "stderr saying what to do), 1 a bug in scalelaw, 130 interrupted (Ctrl-C), 141 "
               "the reader of the output went away (a closed pipe).")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"scalelaw {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser._scalelaw_commands = {}
    for name in COMMANDS:
        mod = importlib.import_module(f"{__name__}.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        if only is None or name == only:
            mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
        parser._scalelaw_commands[name] = p
    return parser


def _parse(parser, argv):
    """Parse; an unknown option is reported with the usage of its command (not the top
    level's)."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = parser._scalelaw_commands.get(getattr(args, "command", None) or "")
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _command_of(argv) -> str:
    """The command ``argv`` runs: its first word that is not an option ("" when there is
    none: the top-level help or usage needs no command's options)."""
    return next((a for a in argv if not a.startswith("-")), "")


#: exit status when the reader of our output went away (128 + SIGPIPE, as a shell reports it)
EXIT_BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status: 0 ok, 2 bad input or options (one line), 1 a bug
    (one line, SCALELAW_DEBUG=1 for the traceback), 130 Ctrl-C, 141 a closed output pipe."""
    from ..errors import ScalelawError

    _one_line_warnings()
    parser = build_parser(_command_of(sys.argv[1:] if argv is None else argv))
    try:
        args = _parse(parser, argv)
    except SystemExit as e:  # argparse exits on --help and on usage errors
        return int(e.code or 0)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    sub = parser._scalelaw_commands[args.command]
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _broken_pipe()
    except ScalelawError as e:
        from ._common import error_text
        _say(f"scalelaw {args.command}: error: {error_text(e, command=args.command, parser=sub)}")
        return 2
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
        _say(f"scalelaw {args.command}: error: {e.strerror}: {e.filename}")
        return 2
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except MemoryError:
        _say(f"scalelaw {args.command}: error: out of memory; give less data or fewer resamples")
        return 2
    except Exception as e:  # a bug, not a user error: one line unless debugging
        import os
        if os.environ.get("SCALELAW_DEBUG"):
            raise
        _say(f"scalelaw {args.command}: internal error: {type(e).__name__}: {e} "
             "(please report it; SCALELAW_DEBUG=1 shows the traceback)")
        return 1


def _say(text: str) -> None:
    """One line on stderr (quietly nothing when stderr is gone too)."""
    try:
        print(text, file=sys.stderr)
    except (BrokenPipeError, ValueError, OSError):
        pass


def _broken_pipe() -> int:
    """The reader of stdout went away (``scalelaw inspect DIR | head``): stop quietly, and
    point stdout at /dev/null so the interpreter's last flush does not complain."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):   # stdout without a file descriptor (tests)
        pass
    return EXIT_BROKEN_PIPE


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
