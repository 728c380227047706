"""The scan report as one HTML page for people: :func:`write_html` behind ``ScanReport.to_html``.

One self-contained file (inline CSS, base64 thumbnails, SVG charts; no script, nothing
fetched). Modules, one job each: ``problems`` (problem files grouped by reason, at most
``PER_REASON`` listed each), ``variety`` (which of a reason's files are listed: a sample
covering its modes, formats, size classes and folders), ``thumbnails`` (small previews of
the listed files, made in worker processes with a time limit per file: the file, what the
default loader's ``convert("RGB")`` makes of it, what ``EnsureChannels`` makes of it; small
images shown scaled up pixel by pixel), ``text`` (errors said without Python reprs),
``charts`` (the size scatter and the bar charts, as numbers for the SVG templates), ``page``
(Jinja2 rendering; ``templates/`` holds the page, the charts and the style).

May import ``core``, ``transforms`` (the PIL channel kernel only, so no torch) and
``diagnosis``; never ``scanner``: the report is handed over by ``ScanReport.to_html``,
which is the one place ``scanner`` imports this package.
Needs Jinja2 (the ``html`` extra).
"""

from __future__ import annotations

from typing import Any

from .._exports import resolve

__all__ = ["missing_dependency", "write_html"]

# public names, then names the sibling packages use (not public API): name -> its module
_EXPORTS = {
    "missing_dependency": "._page",
    "write_html": "._page",
}


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)
