"""A URL's fsspec filesystem, with the extra to install when its package is missing: the
scanner lists and reads remote sources through it, the page reads remote previews.

With a ``timeout`` (the scan's ``time_limit``), connecting and waiting for an answer are
bounded by it, so a store that accepts connections and never answers is an error in a
few timeouts, not minutes of retries. Options the user gave are never overridden.
"""

from __future__ import annotations

from typing import Any, Optional

# protocol -> the extra that installs its filesystem
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "adl": "azure"}
ATTEMPTS = 2  # tries of one request to a store that does not answer in time: one retry
# requests in flight to one store (botocore's default is 10): a scan keeps several parts' heads
# in flight to hide the round trip, and 10 at 20 ms each would cap it near 500 requests/s
CONNECTIONS = 64


def missing_extra(protocol: str) -> str:
    extra = EXTRAS.get(protocol, "cluster")
    return f"reading {protocol}:// needs fsspec and its filesystem: pip install 'pipeguard[{extra}]'"


def filesystem(url: str, storage_options: Optional[dict] = None, timeout: Optional[float] = None) -> tuple[Any, str]:
    """``(fs, path)`` of a URL: the fsspec filesystem and the path inside it; ``timeout``:
    seconds to connect, and to wait for each answer (``None``: the filesystem's defaults).

    Raises:
        ImportError: fsspec or the protocol's filesystem (s3fs, gcsfs, adlfs) is not installed,
            with the extra to install.
    """
    protocol = url.split("://", 1)[0].lower()
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise ImportError(missing_extra(protocol)) from None
    options = dict(storage_options or {})
    timed = protocol in ("s3", "s3a") and timeout is not None
    if timed and timeout is not None:  # (the second test for mypy, which cannot see it through ``timed``)
        options["config_kwargs"] = _s3_config(options.get("config_kwargs"), float(timeout))
    try:
        fs, path = url_to_fs(url, **options)
    except ImportError:
        raise ImportError(missing_extra(protocol)) from None
    except ValueError as exc:  # an unknown protocol
        raise FileNotFoundError(f"cannot read {url}: {exc}") from None
    if timed and "retries" not in ((storage_options or {}).get("config_kwargs") or {}):
        # s3fs retries a timed-out request 5 times over botocore's retries (with its 15 s reads,
        # 421 s to an error from a silent store): botocore's ATTEMPTS are all the tries
        fs.retries = 1
    return fs, path


def _s3_config(given: Optional[dict], timeout: float) -> dict:
    """botocore ``Config`` options for s3fs: the user's, with the timeouts they leave out."""
    bounded = {"connect_timeout": timeout, "read_timeout": timeout, "max_pool_connections": CONNECTIONS,
               "retries": {"total_max_attempts": ATTEMPTS, "mode": "standard"}}
    return {**bounded, **(given or {})}
