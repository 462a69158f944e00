"""Output files: the one writer every output of scalelaw goes through.

* ``-`` is standard output (so are ``/dev/stdout``, ``/dev/fd/1`` and ``/proc/self/fd/1``).
* A symlink is written through: the regular file it points at is replaced (a dangling link
  creates the file it names); the link itself stays.
* Special files (devices, FIFOs, sockets) and directories are refused: a write never
  replaces ``/dev/null`` or a pipe with a regular file.
* Atomic: the data go to a temporary file in the target's own folder, renamed over the
  target only when complete; on any error the target is left as it was and the temporary
  file removed.  Messages name the output, never the temporary file.
* Permissions: a new file gets ``0666 & ~umask`` (as ``open`` or a shell redirect would
  give it), a replaced file keeps its mode.
* :func:`check_output` does every check that can be done before the work (the folder exists
  and is writable, the target is not special, not one of the inputs, a known plot format),
  so a command refuses a bad output at once instead of after a long fit.  Plots are files
  named ``.png``, ``.pdf`` or ``.svg``.

Library messages are neutral; ``label`` lets an interface name the output its own way
(the CLI passes ``--json fit.json``).
"""
from __future__ import annotations

import contextlib
import os
import stat
import sys

from .errors import ScalelawError

#: the path that means standard output
STDOUT = "-"
_STDOUT_ALIASES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def is_stdout(path) -> bool:
    """Whether ``path`` means standard output (``-`` or ``/dev/stdout``)."""
    return path is not None and os.fspath(path) in _STDOUT_ALIASES


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a special file (a FIFO)"
    if stat.S_ISCHR(mode):
        return "a special file (a character device)"
    if stat.S_ISBLK(mode):
        return "a special file (a block device)"
    if stat.S_ISSOCK(mode):
        return "a special file (a socket)"
    return "not a regular file"


def resolve_output(path, label: str | None = None) -> str:
    """The file a write to ``path`` replaces: ``"-"`` for standard output, else the real path
    with every symlink followed (the folder of a dangling link's target must exist).
    Directories and special files are refused with a one-line :class:`ScalelawError`."""
    path = os.fspath(path)
    label = label or path
    if is_stdout(path):
        return STDOUT
    if not path:
        raise ScalelawError("an output path is empty; give a file name, or - for standard output")
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise ScalelawError(f"cannot write {label}: {e.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        what = _kind(st.st_mode)
        hint = ("give a file path inside it" if stat.S_ISDIR(st.st_mode)
                else "give a regular file, or - for standard output")
        shown = label if real == os.path.abspath(path) else f"{label} (-> {real})"
        raise ScalelawError(f"cannot write {shown}: it is {what}; {hint}")
    return real


def _folder_problem(folder: str) -> str | None:
    """Why files cannot be created in ``folder`` (None when they can): tried for real, with a
    file created and removed at once, so permissions, ACLs and read-only mounts all count."""
    if not os.path.exists(folder):
        return f"the folder {folder} does not exist"
    if not os.path.isdir(folder):
        return f"{folder} is not a folder"
    try:
        fd, probe = _create_temp(folder, ".probe")
    except OSError as e:
        return f"the folder {folder} is not writable ({e.strerror})"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.remove(probe)
    return None


#: the image formats scalelaw writes figures in (by the file's extension)
PLOT_FORMATS = ("png", "pdf", "svg")


def plot_formats() -> tuple[str, ...]:
    """The file extensions a plot may have: :data:`PLOT_FORMATS`."""
    return PLOT_FORMATS


def plot_format(path, label: str | None = None) -> str:
    """The image format of a plot path, from its extension (one of :data:`PLOT_FORMATS`);
    another extension, none, or standard output is refused."""
    path = os.fspath(path)
    label = label or path
    if is_stdout(path):
        raise ScalelawError(f"cannot write {label}: a plot goes to a file, not standard output; give a name "
                            f"ending in .{', .'.join(PLOT_FORMATS)}")
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in PLOT_FORMATS:
        got = f"'.{ext}'" if ext else "no extension"
        raise ScalelawError(f"cannot write {label}: {got} is not an image format; name the plot "
                            f"file .{', .'.join(PLOT_FORMATS[:-1])} or .{PLOT_FORMATS[-1]}")
    return ext


def check_output(path, *, inputs=(), plot: bool = False, label: str | None = None) -> str:
    """Check before any work that ``path`` can be written; returns what
    :func:`resolve_output` does.  Refuses (one-line :class:`ScalelawError`): a directory or
    special file, a missing or read-only folder, a path that is the same file as one of
    ``inputs`` (``os.path.samefile``: links and hard links count), and with ``plot`` an
    extension that is not an image format (:data:`PLOT_FORMATS`)."""
    label = label or os.fspath(path)
    target = resolve_output(path, label)
    if target != STDOUT and os.path.exists(target):
        for inp in inputs or ():
            if inp is None or is_stdout(inp):
                continue
            with contextlib.suppress(OSError):
                if os.path.samefile(target, inp):
                    raise ScalelawError(f"cannot write {label}: it is also an input ({os.fspath(inp)}) "
                                        "and would be overwritten; write the output to another file")
    if plot:
        plot_format(path, label)
    if target == STDOUT:
        return target
    problem = _folder_problem(os.path.dirname(target))
    if problem:
        raise ScalelawError(f"cannot write {label}: {problem}")
    return target


def check_outputs(outputs, inputs=()) -> dict:
    """:func:`check_output` for each ``(label, path, plot)`` (entries with no path are
    skipped), and no two of them the same file or both standard output.  Returns
    ``{label: target}``."""
    seen: dict = {}
    for label, path, plot in outputs:
        if path is None:
            continue
        target = check_output(path, inputs=inputs, plot=plot, label=label)
        for other, t in seen.items():
            if t == target:
                where = "standard output" if target == STDOUT else "the same file"
                raise ScalelawError(f"{other} and {label} both write to {where}; give them different files")
        seen[label] = target
    return seen


def _create_temp(folder: str, suffix: str = ""):
    """A new file beside the target, created with mode 0666 so that the umask applies (as
    for any newly created file; ``mkstemp`` would give 0600)."""
    import secrets
    for _ in range(100):
        name = os.path.join(folder, f".scalelaw-{secrets.token_hex(6)}.tmp{suffix}")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(folder)


def _copy_to_stdout(tmp: str) -> None:
    sys.stdout.flush()
    out = getattr(sys.stdout, "buffer", None)
    with open(tmp, "rb") as f:
        data = f.read()
    if out is None:          # a text stream (tests capture stdout as text)
        sys.stdout.write(data.decode("utf-8", errors="replace"))
    else:
        out.write(data)
        out.flush()


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None, label: str | None = None):
    """Yield a temporary path to write; on success it replaces the file ``path`` resolves to
    (see the module notes: through symlinks, never a special file, umask honoured, mode of a
    replaced file kept).  ``path`` ``-`` copies the finished file to standard output.  On
    error nothing is replaced and the temporary file is removed; an ``OSError`` from the
    write is reported as a :class:`ScalelawError` naming ``path`` (not the temporary)."""
    label = label or os.fspath(path)
    target = resolve_output(path, label)
    if suffix is None:
        suffix = "" if target == STDOUT else os.path.splitext(target)[1]
    if target == STDOUT:
        import tempfile
        folder = tempfile.gettempdir()
    else:
        folder = os.path.dirname(target)
        if not os.path.isdir(folder):
            raise ScalelawError(f"cannot write {label}: the folder {folder} does not exist")
    try:
        fd, tmp = _create_temp(folder, suffix)
    except OSError as e:
        raise ScalelawError(f"cannot write {label}: the folder {folder} is not writable "
                            f"({e.strerror})") from None
    os.close(fd)
    try:
        try:
            yield tmp
            if target == STDOUT:
                _copy_to_stdout(tmp)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))   # a replaced file keeps its mode
                os.replace(tmp, target)
        except OSError as e:
            if isinstance(e, BrokenPipeError) or not getattr(e, "strerror", None):
                raise
            raise ScalelawError(f"cannot write {label}: {e.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            os.remove(tmp)


@contextlib.contextmanager
def open_output(path, mode: str = "w", encoding: str | None = "utf-8", label: str | None = None):
    """A file object to write ``path`` with (``mode`` ``"w"`` or ``"wb"``), atomically as
    :func:`atomic_path`; for ``-`` the data reach standard output once complete."""
    if mode not in ("w", "wb"):
        raise ValueError(f"open_output mode must be 'w' or 'wb', not {mode!r}")
    with atomic_path(path, label=label) as tmp:
        with open(tmp, mode, encoding=None if "b" in mode else encoding,
                  newline=None if "b" in mode else "") as f:
            yield f


def write_text(path, text: str, label: str | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (``-``: standard output)."""
    with open_output(path, "w", label=label) as f:
        f.write(text)


def write_bytes(path, data: bytes, label: str | None = None) -> None:
    """Write ``data`` to ``path`` atomically (``-``: standard output)."""
    with open_output(path, "wb", label=label) as f:
        f.write(data)


def make_folder(path, label: str | None = None) -> str:
    """Create the folder ``path`` (and its parents) if needed and check files can be written
    in it; returns its real path.  An existing non-folder is refused."""
    path = os.fspath(path)
    label = label or path
    if is_stdout(path):
        raise ScalelawError(f"cannot write the files of {label} to standard output; give a folder")
    real = os.path.realpath(path)
    if os.path.exists(real) and not os.path.isdir(real):
        raise ScalelawError(f"cannot write to {label}: it exists and is not a folder; give a folder")
    try:
        os.makedirs(real, exist_ok=True)
    except OSError as e:
        raise ScalelawError(f"cannot create the folder {label}: {e.strerror}") from None
    problem = _folder_problem(real)
    if problem:
        raise ScalelawError(f"cannot write to {label}: {problem}")
    return real


__all__ = ["PLOT_FORMATS", "STDOUT", "atomic_path", "check_output", "check_outputs", "is_stdout", "make_folder",
           "open_output", "plot_format", "plot_formats", "resolve_output", "write_bytes", "write_text"]
