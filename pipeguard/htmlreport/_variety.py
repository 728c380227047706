"""Which of a reason's files the page lists: a sample that covers their variety.

A reason's files are sorted into kinds, ``(mode, format, size class, folder)``; the page
lists one file of each kind first, then a second of each, and so on, up to the limit
(round-robin over the kinds). The kinds take turns in an order that varies the mode
first, then the format, the size class and the folder (each level's values take turns
within the one above), so when there are more kinds than files to list, the listed ones
still cover every mode, then every format, ... Within a kind, files keep the table's
order. The same rows always give the same sample.

Files arrive a chunk of the table at a time and are never all held: a file is dropped as
soon as it cannot be listed whatever comes later (see :meth:`Variety.prune`).
"""

from __future__ import annotations

import bisect
import itertools
import posixpath
from typing import Any

SIZE_CLASSES = (32, 128, 512, 2048)   # a size class: the longest side up to 32 px, 128, ... or more
Kind = tuple[str, str, int, str]


def kind_of(row: dict[str, Any]) -> Kind:
    """A row's kind: its mode, format, size class (-1 when unknown) and folder (an archive
    member's is the archive and the member's folder in it)."""
    height, width = row.get("height"), row.get("width")
    size = -1 if height is None or width is None else bisect.bisect_left(SIZE_CLASSES, max(height, width))
    folder = posixpath.dirname(str(row.get("path") or "").replace("\\", "/"))
    member = row.get("member")
    if member:
        folder = f"{row.get('path')}::{posixpath.dirname(member)}"
    return (str(row.get("mode") or ""), str(row.get("format") or ""), size, folder)


class Variety:
    """At most ``limit`` items chosen to cover their kinds (see the module's doc)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.by_kind: dict[Kind, list] = {}
        self.depth = limit   # no kind's item past this many can ever be chosen

    def wants(self, kind: Kind) -> bool:
        """Whether an item of ``kind`` arriving now could still be chosen."""
        return self.limit > 0 and len(self.by_kind.get(kind, ())) < self.depth

    def add(self, kind: Kind, item: Any) -> None:
        self.by_kind.setdefault(kind, []).append(item)

    def prune(self) -> list:
        """Drop the items that can never be chosen, whatever arrives later; return them.

        An item is chosen in the turn of its place in its kind (a kind's ``r``-th item in
        round ``r``), after every item of an earlier round: one preceded by ``limit`` items
        of earlier rounds never is, and those only grow. Nor is a kind that is past the
        ``limit``-th folder (by name) of its mode, format and size class: its first item
        comes after the first items of those folders' kinds.
        """
        dropped = []
        nodes: dict[tuple, list[Kind]] = {}
        for kind in self.by_kind:
            nodes.setdefault(kind[:3], []).append(kind)
        for kinds in nodes.values():
            for kind in sorted(kinds, key=lambda k: k[3])[self.limit:]:
                dropped += self.by_kind.pop(kind)
        lengths = [len(items) for items in self.by_kind.values()]
        self.depth = next((r for r in range(1, self.limit + 1) if sum(min(n, r) for n in lengths) >= self.limit),
                          self.limit)
        for items in self.by_kind.values():
            dropped += items[self.depth:]
            del items[self.depth:]
        return dropped

    def chosen(self) -> list:
        """The chosen items, in the order they are chosen: a round of one item of each kind
        (in :func:`turns` order), then another round, until ``limit`` items."""
        kinds = turns(list(self.by_kind))
        rounds = itertools.zip_longest(*(self.by_kind[k] for k in kinds))
        return [item for round_ in rounds for item in round_ if item is not None][:self.limit]


def turns(kinds: list[tuple], level: int = 0) -> list[tuple]:
    """``kinds`` in the order they take turns: the values of their first field take turns
    (in sorted order), each value's kinds in the order of their remaining fields, likewise."""
    if len(kinds) <= 1 or level == len(kinds[0]):
        return sorted(kinds)
    by_value: dict[Any, list[tuple]] = {}
    for kind in sorted(kinds):
        by_value.setdefault(kind[level], []).append(kind)
    orders = [turns(group, level + 1) for group in by_value.values()]
    return [k for round_ in itertools.zip_longest(*orders) for k in round_ if k is not None]

