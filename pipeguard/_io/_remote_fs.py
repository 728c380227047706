"""A URL's fsspec filesystem, with the extra to install when its package is missing: the
scanner lists and reads remote sources through it, the page reads remote previews."""

from __future__ import annotations

from typing import Any, Optional

# protocol -> the extra that installs its filesystem
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "adl": "azure"}


def missing_extra(protocol: str) -> str:
    extra = EXTRAS.get(protocol, "cluster")
    return f"reading {protocol}:// needs fsspec and its filesystem: pip install 'pipeguard[{extra}]'"


def filesystem(url: str, storage_options: Optional[dict] = None) -> tuple[Any, str]:
    """``(fs, path)`` of a URL: the fsspec filesystem and the path inside it.

    Raises:
        ImportError: fsspec or the protocol's filesystem (s3fs, gcsfs, adlfs) is not installed,
            with the extra to install.
    """
    protocol = url.split("://", 1)[0].lower()
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise ImportError(missing_extra(protocol)) from None
    try:
        return url_to_fs(url, **(storage_options or {}))
    except ImportError:
        raise ImportError(missing_extra(protocol)) from None
    except ValueError as exc:  # an unknown protocol
        raise FileNotFoundError(f"cannot read {url}: {exc}") from None
