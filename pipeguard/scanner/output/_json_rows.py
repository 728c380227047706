"""Rows as JSON text, a column at a time: what the JSON and JSON-lines writers write.

``json.dumps`` of a dict per row cost about 17 µs a row (the dict, then the encoder's
walk of it), the most of a streamed scan's own time on a folder of small files. The
report's columns have fixed types (text or null, whole numbers or null, a flag, lists of
text), so each column is encoded with one small function mapped over it and a row is one
``%`` of a fixed template: the same text ``json.dumps(record, ensure_ascii=False)`` gives,
byte for byte (``tests/test_scan_stream.py`` holds them to it). A row whose text cannot
be written as UTF-8 (a file name's undecodable bytes, as surrogates) is encoded by
``json.dumps`` with ``\\u`` escapes, as before.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses
from typing import Any, Callable, Iterator

from .._row import COLUMNS, INT_COLUMNS, LIST_COLUMNS

_TEMPLATE = "{" + ", ".join(f"{json.dumps(name)}: %s" for name in COLUMNS) + "}"


def _text(value: Any) -> str:
    return "null" if value is None else encode_basestring(value)


def _number(value: Any) -> str:
    return "null" if value is None else str(int(value))


def _flag(value: Any) -> str:
    return "true" if value else "false"


def _texts(values: Any) -> str:
    return "[" + ", ".join(map(encode_basestring, values)) + "]" if values else "[]"


_ENCODERS: list[Callable[[Any], str]] = [
    _number if name in INT_COLUMNS else _texts if name in LIST_COLUMNS else _flag if name == "hidden" else _text
    for name in COLUMNS]


def json_rows(columns: list[list]) -> Iterator[str]:
    """Each row held in ``columns`` (the report's columns, in order) as one JSON object's text."""
    encoded = [list(map(encode, column)) for encode, column in zip(_ENCODERS, columns)]
    texts = [_TEMPLATE % parts for parts in zip(*encoded)]
    try:
        "".join(texts).encode("utf-8")  # one check for the chunk: text Python holds as surrogates fails it
    except UnicodeEncodeError:
        texts = [text if _utf8(text) else _escaped(columns, i) for i, text in enumerate(texts)]
    return iter(texts)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escaped(columns: list[list], i: int) -> str:
    record = {name: column[i] for name, column in zip(COLUMNS, columns)}
    for name in LIST_COLUMNS:
        record[name] = list(record[name])
    return json.dumps(record)  # \u escapes: a surrogate stands for a byte that is not UTF-8
