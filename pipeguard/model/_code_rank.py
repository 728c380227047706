"""Readings of model code (not a layer) that wants one more dimension than it receives:
``n, c, h, w = x.shape`` in a transformer's ``forward`` ("not enough values to unpack
(expected 4, got 3)"), a ``permute`` of four axes after a convolution took a sample
unbatched ("input.dim() = 3 is not equal to len(dims) = 4"). Read against the model
input, one short dimension is a single sample without its batch dimension; the fix is
the call that adds it (``x.unsqueeze(0)``, after a permute for channels-last data).
"""

from __future__ import annotations

import re
from typing import Optional

from ..diagnosis import explain, numbers
from . import _input_layout as layout
from ._findings import Finding, FindingKind
from ._history import History, before_any_layer, model_input

# (the pattern, whether it names the wanted rank first)
_RANK_MESSAGES = ((re.compile(r"not enough values to unpack \(expected (\d+), got (\d+)\)"), True),
                  (re.compile(r"input\.dim\(\) = (\d+) is not equal to len\(dims\) = (\d+)"), False))


def _ranks(text: str) -> Optional[tuple[int, int]]:
    """``(wanted, got)`` ranks named in ``text``, or ``None``."""
    for pattern, wanted_first in _RANK_MESSAGES:
        m = pattern.search(text)
        if m is not None:
            a, b = int(m.group(1)), int(m.group(2))
            return (a, b) if wanted_first else (b, a)
    return None


def read_code_rank(text: str, history: History) -> Optional[Finding]:
    """Model code that takes one dimension more than the latest tensor has, where the model
    input has as few: a sample without its batch dimension. ``None`` for other messages, or
    when the shapes do not bear that reading out."""
    ranks, image = _ranks(text), model_input(history)
    if ranks is None or image is None:
        return None
    wanted, got = ranks
    x = history[-1][1]
    if wanted != got + 1 or len(x) != got or len(image) != got:
        return None
    summary = f"the model's code expects a {wanted}-D input, receives {got}-D {numbers.shape(x)}"
    reading = layout.missing_batch(x, (wanted,), history) or layout.unbatched_image(x, history)
    if reading is None:
        if not layout.may_miss_batch(x, (wanted,), history):
            return None
        return Finding(FindingKind.RANK, summary, expected=wanted, actual=x,
                       fix=f"if the model input {numbers.shape(image)} is a single sample, add the batch "
                           "dimension: x.unsqueeze(0)")
    unsqueeze = reading.call == "x.unsqueeze(0)"
    why = f"the model input {numbers.shape(image)} has no batch dimension" + ("" if unsqueeze else
                                                                                 " and holds its channels last")
    if not before_any_layer(history):
        why += ": the layers before took it unbatched, this code cannot"
    fix = layout.missing_batch_fix(reading) if unsqueeze else layout.channels_last_fix(reading, None, got - 1)
    return Finding(FindingKind.RANK, summary, expected=reading.shape, actual=x,
                   diagnosis=explain(reading.shape if unsqueeze else reading.shape[1:], image),
                   arithmetic=why, fix=fix)
