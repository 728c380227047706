"""The scan report as one HTML page for people: :func:`write_html` behind ``ScanReport.to_html``.

One self-contained file (inline CSS, base64 thumbnails, SVG charts; no script, nothing
fetched). Modules, one job each: ``problems`` (problem files grouped by reason, at most
``PER_REASON`` listed each), ``thumbnails`` (small previews of the listed files, made in
worker processes with a time limit per file: the file, what the default loader's
``convert("RGB")`` makes of it, what ``EnsureChannels`` makes of it), ``charts`` (the
size scatter and the bar charts, as numbers for the SVG templates), ``page`` (Jinja2
rendering; ``templates/`` holds the page, the charts and the style).

May import ``core``, ``transforms`` (the PIL channel kernel only, so no torch) and
``diagnosis``; never ``scanner``: the report is handed over by ``ScanReport.to_html``,
which is the one place ``scanner`` imports this package.
Needs Jinja2 (the ``html`` extra).
"""

from __future__ import annotations

from typing import Any

__all__ = ["missing_dependency", "write_html"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import _page

        return getattr(_page, name)
    raise AttributeError(f"module 'pipeguard.htmlreport' has no attribute {name!r}")
