"""``read_log`` and its helpers under their historical module name.

The work is done by single-purpose modules; this one only re-exports them so that
``from scalelaw.io.logs import ...`` keeps working:

* :mod:`.detect` -- formats, detection, content sniffing (:func:`detect_format`);
* :mod:`.walk` -- which files below a directory are logs and how runs are named;
* :mod:`.sources` -- reading a file, a store or a directory into sources;
* :mod:`.smoothing` -- ``ema`` / ``median`` / ``lowess`` smoothing (``_parse_smooth``,
  :func:`smooth_loss`);
* :mod:`.pipeline` -- :func:`read_log` itself and the frame's :data:`UNITS`.
"""
from __future__ import annotations

from .detect import ALIASES, FORMATS, canonical_format, detect_format
from .detect import columns as _columns
from .pipeline import UNITS, read_log
from .smoothing import _parse_smooth, _smooth, smooth_loss

__all__ = ["read_log", "detect_format", "smooth_loss", "FORMATS", "ALIASES", "UNITS",
           "canonical_format", "_parse_smooth", "_smooth", "_columns"]
