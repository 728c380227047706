"""What counts as a URL: ``protocol://...``, as fsspec reads it (the scanner and the page agree)."""

from __future__ import annotations

import re
from typing import Any, TypeGuard

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def is_url(source: Any) -> TypeGuard[str]:
    """Whether ``source`` is an fsspec URL (``protocol://...``) rather than a local path."""
    return isinstance(source, str) and "://" in source and bool(_URL.match(source))  # the test first: cheap
