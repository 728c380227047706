"""The page itself: gather the summary, the groups, the previews and the charts; render with Jinja2."""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Any, Optional, Union

from .._child import usable_cores
from .._io import is_url
from ._charts import bar_chart, size_chart
from ._preview_files import limited
from ._problems import NOT_IMAGE, PER_REASON, problem_groups
from ._text import EMPTY, plain
from ._thumbnails import CHANNEL_VIEWS, FILE, SIDE, Job, Preview, failed, previews

log = logging.getLogger(__name__)
EXTRA_HINT = "the HTML report needs Jinja2: pip install 'pipeguard[html]'"


def missing_dependency() -> Optional[str]:
    """What to install for :func:`write_html`, or ``None`` when all is there."""
    from importlib.util import find_spec

    return None if find_spec("jinja2") else EXTRA_HINT


def write_html(report: Any, path: Union[str, "os.PathLike[str]"], *,
               per_reason: int = PER_REASON, workers: Optional[int] = None, time_limit: float = 10.0,
               side: int = SIDE) -> None:
    """Write ``report`` as one self-contained HTML page (see ``ScanReport.to_html``).

    Args:
        report: a :class:`~pipeguard.ScanReport`.
        path: the file to write (UTF-8).
        per_reason: files listed (with previews) per reason.
        workers: processes making previews; ``None`` for every core.
        time_limit: seconds one file's previews may take before a "timed out" placeholder.
        side: longest side of a preview, in pixels.

    Raises:
        ImportError: Jinja2 is missing (the message names the extra).
        OSError: ``path`` cannot be written.
    """
    if missing_dependency():
        raise ImportError(EXTRA_HINT)
    started = time.perf_counter()
    summary = report.summary()
    groups = problem_groups(report, summary, per_reason)
    shown = _previews(report, groups, workers, time_limit, side)
    html = _render(report, summary, groups, shown, side)
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as out:
        out.write(html)
    log.info("wrote %s (%d bytes, %d previews) in %.2f s", path, len(html), len(shown),
             time.perf_counter() - started)


def _channels_wanted(contract: Any) -> int:
    """What ``EnsureChannels`` would be asked for: the contract's channels when 1 or 3, else 3."""
    wanted = getattr(contract, "channels", None)
    return wanted if wanted in (1, 3) else 3


def _previews(report: Any, groups: list, workers: Optional[int], time_limit: float, side: int) -> dict:
    decided: dict = {}  # previews known without decoding: an example that cannot be sent
    jobs = _jobs(report, groups, decided)
    if not jobs:
        return decided
    if workers is None:
        workers = usable_cores()
    return {**previews(jobs, workers=workers, time_limit=time_limit, side=side), **decided}


def _jobs(report: Any, groups: list, decided: Optional[dict] = None) -> list[Job]:
    """One job a listed file, and one an archive for all of its listed members. The rows
    of a scanned dataset are its examples, by position (see :func:`_example_job`); the
    previews of those that cannot be sent go in ``decided``, as do those of 0-byte files
    (never opened: there is nothing to show)."""
    decided = {} if decided is None else decided
    channels = _channels_wanted(report.contract)
    options = getattr(report, "storage_options", None)
    examples = getattr(report, "examples", None)
    views: dict[Any, set] = {}
    where: dict[Any, tuple] = {}
    for group in groups:
        for row in group.rows:
            if row["status"] == NOT_IMAGE:
                continue  # nothing to show
            if row.get("bytes") == 0:
                decided[row["key"]] = Preview(error=EMPTY)
                continue
            views.setdefault(row["key"], set()).update(CHANNEL_VIEWS if group.key == "channels" else (FILE,))
            where[row["key"]] = (row["path"] if examples is not None else _located(str(report.root), row["path"]),
                                 row.get("member"))
    archives: dict[Any, list[tuple[Any, ...]]]  # an archive's path -> (key, member, views) of its members
    jobs, archives = [], {}
    for key, wanted in views.items():
        path, member = where[key]
        shown = tuple(v for v in CHANNEL_VIEWS if v in wanted)
        if examples is not None:
            job = _example_job(examples, key, path, shown, channels, decided)
            if job is not None:
                jobs.append(job)
        elif member is None:
            jobs.append(Job(key, path, shown, channels, options))
        else:
            archives.setdefault(path, []).append((key, member, shown))
    jobs += [Job(listed[0][0], path, (), channels, options, tuple(listed)) for path, listed in archives.items()]
    return jobs


def _example_job(examples: Any, key: int, name: str, views: tuple, channels: int, decided: dict) -> Optional[Job]:
    """The job of a dataset's example: its stored bytes go with it, as a view of the
    dataset's own memory until the job is sent (so the page never holds a copy of them
    all). An example stored as a path only is read from that local file, as the scan read
    it; one with nothing stored gets no preview (its row says so)."""
    try:
        data, stored_path = examples.image(key)
        if data is not None:
            limited(data)  # refused here, before it is sent
    except Exception as exc:  # too large, or the dataset's cache files are gone: this example's error
        decided[key] = failed(exc)
        return None
    if data is None and (not stored_path or is_url(stored_path)):  # the scan did not fetch URLs either
        return None
    return Job(key, stored_path or name, views, channels, data=data)


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    """The Jinja2 environment, made once: it keeps the compiled templates between pages."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("pipeguard.htmlreport", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    env.filters["plain"] = plain  # an error as text, without Python reprs
    return env


def _located(root: str, path: str) -> str:
    """A row's file: its ``path`` under the scanned folder or URL (a list's paths are as given)."""
    if is_url(root):
        return root.rstrip("/") + "/" + path
    return os.path.join(root, path)


def _render(report: Any, summary: dict, groups: list, shown: dict, side: int) -> str:
    contract = report.contract
    size = tuple(contract.size) if contract is not None and getattr(contract, "size", None) else None
    expected_channels = getattr(contract, "channels", None)
    return _environment().get_template("report.html.j2").render(
        report=report, summary=summary, groups=groups, previews=shown, side=side,
        fixed_channels=_channels_wanted(contract),
        contract=summary.get("contract"), open_fields=(summary.get("contract") or {}).get("open", {}),
        size_chart=size_chart(report.tally.sizes, size),
        channel_chart=bar_chart("channels", summary["channels"],
                                None if expected_channels is None else str(expected_channels)),
        mode_chart=bar_chart("modes", summary["modes"]),
        format_chart=bar_chart("formats", summary["formats"]),
    )
