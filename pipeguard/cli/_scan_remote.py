"""``pipeguard scan`` over object stores and on a Dask cluster: ``--storage-option`` and
``--dask`` checked before the scan, so a missing bucket, bad credentials or a missing extra
is one ``Error:`` line with exit status 2."""

from __future__ import annotations

from typing import Optional

from ._params import UsageError

_TRUE, _FALSE = ("true", "yes", "on"), ("false", "no", "off")


def storage_options_of(pairs: tuple[str, ...]) -> dict:
    """``KEY=VALUE`` pairs as fsspec options (``true``/``false`` and integers converted)."""
    options: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--storage-option should be KEY=VALUE, but got {pair!r}")
        options[key.strip()] = _value(value.strip())
    return options


def _value(text: str):
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    try:
        return int(text)
    except ValueError:
        return text


def check_engine(cluster: Optional[str]) -> None:
    if cluster is None:
        return
    from ..scanner import MISSING_EXTRA, check_cluster

    try:
        check_cluster(cluster)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError(MISSING_EXTRA) from None


def check_remote(sources: tuple[str, ...], files_from: Optional[str], options: dict,
                 time_limit: Optional[float] = None, output: Optional[str] = None):
    """A single URL SOURCE, checked to be a folder one can list within ``time_limit`` (each
    connection and answer: the scan's ``--timeout``); ``None`` for anything else. Storage
    options need a URL: a source, one in a list, or the ``output``."""
    from .._io import is_url
    from ..scanner import open_source

    if files_from or len(sources) != 1 or not is_url(sources[0]):
        # a list may hold URLs; a URL output is written with the options too
        if options and not files_from and not any(is_url(s) for s in sources) and not (output and is_url(output)):
            raise UsageError("--storage-option applies to URLs (s3://, gs://, az://, ...), and none is given")
        return list(sources) if any(is_url(s) for s in sources) and not files_from else None
    try:
        open_source(sources[0], options, time_limit)
    except (ImportError, OSError) as exc:
        raise UsageError(str(exc)) from None
    return sources[0]

