"""Progress of long work on stderr: a tqdm bar on a terminal, one line with the estimated
time otherwise, nothing with ``--quiet``.  The library only calls a ``progress(done, total)``
hook; how it is shown is decided here."""
from __future__ import annotations

import sys
import time

#: a bootstrap whose estimate exceeds this many seconds says so before it goes on
ESTIMATE_ABOVE_S = 10.0
#: the estimate waits for this many seconds or items, whichever comes first
ESTIMATE_AFTER_S = 1.0
ESTIMATE_AFTER_ITEMS = 16
#: the shortest time between two redraws of a progress bar
BAR_INTERVAL_S = 0.2
#: a fit that runs longer than this shows its elapsed time on a terminal
TICK_AFTER_S = 2.0


def _tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _size(stream) -> tuple[int, int]:
    """The terminal's columns and rows (0 when unknown: a pseudo-terminal without a size)."""
    import os
    try:
        size = os.get_terminal_size(stream.fileno())
        return size.columns, size.lines
    except (AttributeError, ValueError, OSError):
        return 0, 0


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 5400:
        return f"about {seconds:.0f} s ({seconds / 60:.0f} min)"
    return f"about {seconds:.0f} s ({seconds / 3600:.1f} h)"


class Progress:
    """A ``progress(done, total)`` hook for the library's long loops (the bootstrap).

    On a terminal (``stream.isatty()``): a tqdm bar with its own time estimate.  Otherwise,
    once the first items are done, one line ``WHAT: N items, about T s`` when the rest
    would take longer than :data:`ESTIMATE_ABOVE_S`.  ``quiet``: nothing at all."""

    def __init__(self, what: str, total: int, *, quiet: bool = False, stream=None, unit: str = "resample"):
        self.what, self.total, self.unit = what, int(total), unit
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.bar = None
        self.t0 = time.perf_counter()
        self.estimated = False
        self.first = None
        self.done = 0
        if not quiet and _tty(self.stream):
            from tqdm import tqdm
            cols, rows = _size(self.stream)    # a pseudo-terminal may have no size: tqdm then hides the bar
            self.bar = tqdm(total=self.total, desc=what, unit=unit, file=self.stream, leave=False,
                            mininterval=BAR_INTERVAL_S, nrows=rows or 20,
                            **({"dynamic_ncols": True} if cols else {"ncols": 80}))

    def __call__(self, done: int, total: int | None = None) -> None:
        done = int(done)
        if total and int(total) != self.total:   # the library knows the count (groups of a CV)
            self.total = int(total)
            if self.bar is not None:
                self.bar.total = self.total
                self.bar.refresh()
        if self.bar is not None:
            self.bar.update(max(0, done - self.done))
        elif not self.quiet and not self.estimated and 0 < done < self.total:
            now = time.perf_counter()
            if self.first is None:     # the first report carries the start-up cost: rate from here on
                self.first = (now, done)
            else:
                dt, dn = now - self.first[0], done - self.first[1]
                if dn > 0 and (dt >= ESTIMATE_AFTER_S or (dn >= ESTIMATE_AFTER_ITEMS and dt >= 0.2)):
                    self.estimated = True
                    total = now - self.t0 + dt / dn * (self.total - done)
                    if total > ESTIMATE_ABOVE_S:
                        print(f"{self.what}: {self.total} {self.unit}s, {_duration(total)} "
                              f"(at the rate of the first {done})", file=self.stream, flush=True)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Ticker:
    """Elapsed time of a step with no count of its own (a fit's search), on a terminal only,
    after :data:`TICK_AFTER_S`: ``fitting multipower: 12 s``.  A daemon thread refreshes it;
    nothing is shown off a terminal or with ``quiet``."""

    def __init__(self, what: str, *, quiet: bool = False, stream=None):
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.active = not quiet and _tty(self.stream)
        self.thread = None
        self.shown = False

    def __enter__(self):
        if self.active:
            import threading
            self.stop = threading.Event()
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        return self

    def _run(self):
        t0 = time.perf_counter()
        if self.stop.wait(TICK_AFTER_S):
            return
        while not self.stop.is_set():
            self.shown = True
            self.stream.write(f"\r{self.what}: {time.perf_counter() - t0:.0f} s elapsed")
            self.stream.flush()
            self.stop.wait(1.0)

    def __exit__(self, *exc):
        if self.thread is not None:
            self.stop.set()
            self.thread.join()
            if self.shown:
                self.stream.write("\r\033[K")
                self.stream.flush()
        return False
