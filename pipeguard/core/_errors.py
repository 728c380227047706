"""Every error pipeguard raises, and the reason codes it groups failures by."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ..diagnosis import Dims, numbers


class Reason(str, enum.Enum):
    """Why a check failed. Group and count by this, never by message text."""

    TYPE = "type"                # not an image or tensor at all
    RANK = "rank"                # a number of dimensions no image has
    LAYOUT = "layout"            # channels-last tensor, channels-first array
    CHANNELS = "channels"
    SIZE = "size"                # height × width
    NUMEL = "numel"              # flattened per-sample length
    DTYPE = "dtype"
    RANGE = "range"              # values outside the contract's value range
    UNREADABLE = "unreadable"    # the file or the wrapped dataset raised
    COLLATE = "collate"          # a batch could not be assembled
    MASK_SIZE = "mask size"          # a mask whose height × width is not its image's
    MASK_CHANNELS = "mask channels"  # a mask of more than one channel (RGB-saved, one-hot)
    MASK_DTYPE = "mask dtype"        # a mask that is not of an integer type
    MASK_VALUES = "mask values"      # mask values outside [0, num_classes) and not the ignore_index
    BOX_OUTSIDE = "box outside"      # boxes past the image's edges, or on another canvas size
    BOX_DEGENERATE = "box degenerate"  # x2 <= x1 or y2 <= y1, or narrower than min_size
    BOX_LABELS = "box label"         # not one label a box, or a label out of range
    TARGET_MISSING = "no target"     # the contract sets a mask or boxes rule, the sample has none

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Violation:
    """One failed check: the reason code, expected vs actual value, and a sentence fragment.

    ``message`` reads as the continuation of "the sample ...", e.g.
    ``"has 1 channel, not the 3 expected"``.
    """

    reason: Reason
    expected: Any
    actual: Any
    message: str

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.message}"


@dataclass(frozen=True)
class TargetViolation(Violation):
    """A failed target check (mask, boxes, labels), with the hypothesis its check found.

    The target checks see what the diagnosis cannot (the mask's type, whether an RGB
    mask's channels are equal, how boxes read in another format), so they state the
    likely cause themselves; :func:`diagnose` puts it first.
    """

    hypothesis: Any = None  # a diagnosis.Hypothesis, or None


class ContractFieldError(ValueError):
    """A contract field with a value that makes no sense; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"Contract field {field!r}: {message}")


class ContractFileError(ValueError):
    """A contract file that cannot be read; names the file and, where known, the key."""

    def __init__(self, origin: str, message: str, key: str | None = None) -> None:
        self.origin = origin
        self.key = key
        where = f"{origin}: key {key!r}: " if key else f"{origin}: "
        super().__init__(where + message)


class ContractViolation(ValueError):
    """A sample, batch or file that does not meet a :class:`~pipeguard.Contract`.

    Carries everything needed to act on it as data: ``expected`` and ``actual``
    (:class:`Dims`), the individual ``violations``, where it happened (``index``,
    ``source``, ``stage``), the contract's name, and a ``diagnosis``.

    It can be built from a single message string, as PyTorch does when it re-raises
    a worker's exception (``type(e)(msg)``); it then carries only the text. It
    pickles with every field intact.
    """

    def __init__(
        self,
        message: Optional[str] = None,
        *,
        expected: Optional[Dims] = None,
        actual: Optional[Dims] = None,
        violations: Sequence[Violation] = (),
        index: Optional[int] = None,
        source: Optional[str] = None,
        stage: Optional[str] = None,
        diagnosis: Any = None,
        contract_name: Optional[str] = None,
    ) -> None:
        self.expected = expected
        self.actual = actual
        self.violations = list(violations)
        self.index = index
        self.source = None if source is None else str(source)
        self.stage = stage
        self.diagnosis = diagnosis
        self.contract_name = contract_name
        self._message = message
        super().__init__(message if message is not None else self._render_safely())

    @property
    def reasons(self) -> list[Reason]:
        return [v.reason for v in self.violations]

    def with_context(self, *, index=None, source=None, stage=None) -> "ContractViolation":
        """A copy with the location filled in where it was unknown."""
        return ContractViolation(
            self._message,
            expected=self.expected,
            actual=self.actual,
            violations=self.violations,
            index=self.index if index is None else index,
            source=self.source if source is None else source,
            stage=self.stage if stage is None else stage,
            diagnosis=self.diagnosis,
            contract_name=self.contract_name,
        )

    def __str__(self) -> str:
        if self._message is not None:
            return self._message
        return self._render_safely()

    def __reduce__(self):
        # Rebuild through keywords so every field survives pickling (DataLoader workers).
        return (_rebuild, (type(self), self.__dict__.copy()))

    def _render_safely(self) -> str:
        try:
            return _render(self)
        except Exception as exc:  # a message must never be the thing that crashes
            return f"contract violation (message could not be formatted: {exc!r})"


def _rebuild(cls, state):
    state = dict(state)
    message = state.pop("_message", None)
    obj = cls(message, **{k: state.pop(k) for k in list(state) if k in _FIELDS})
    obj.__dict__.update(state)
    return obj


_FIELDS = ("expected", "actual", "violations", "index", "source", "stage", "diagnosis", "contract_name")


def where(index: Optional[int], source: Optional[str]) -> str:
    """``'sample 17 (data/cat/0042.png)'``, ``'sample 17'``, ``'data/x.png'`` or ``'sample'``."""
    if index is not None and source:
        return f"sample {index} ({source})"
    if index is not None:
        return f"sample {index}"
    if source:
        return str(source)
    return "sample"


def _dims_line(dims: Dims, width: int) -> str:
    text = numbers.shape(dims.shape) if dims.shape is not None else ""
    return f"{text:<{width}}  {numbers.count(dims.numel):>11} elements"


def _render(err: ContractViolation) -> str:
    name = f" '{err.contract_name}'" if err.contract_name else ""
    lines = [f"{where(err.index, err.source)} does not meet contract{name}"]
    if err.expected is not None or err.actual is not None:
        exp = err.expected or Dims()
        act = err.actual or Dims()
        width = max(len(numbers.shape(d.shape)) if d.shape is not None else 0 for d in (exp, act))
        lines.append(f"  expected  {_dims_line(exp, width)}")
        actual = f"  actual    {_dims_line(act, width)}"
        if act.numel is not None and exp.numel and act.numel != exp.numel:
            actual += f"  ({numbers.ratio(act.numel, exp.numel)})"
        lines.append(actual)
    for v in err.violations:
        lines.append(f"  check     {v.reason.value}: {v.message}")
    if err.stage:
        lines.append(f"  stage     {err.stage}")
    best = getattr(err.diagnosis, "best", None)
    if best is not None:
        lines.append(f"  likely    {best.summary}")
        if best.arithmetic:
            lines.append(f"            {best.arithmetic}")
        if best.fix:
            lines.append(f"  fix       {best.fix}")
    return "\n".join(lines)


class Status(str, enum.Enum):
    """A scan row's ``status``. Group and count by this, never by message text."""

    OK = "ok"                  # read, and it meets the contract
    VIOLATION = "violation"    # read, and it fails one of the contract's checks
    UNREADABLE = "unreadable"  # it cannot be read as an image (its ``error_kind`` says why)
    NOT_IMAGE = "not-image"    # not an image by extension and content: counted, never a failure

    def __str__(self) -> str:
        return self.value


class UnreadableKind(str, enum.Enum):
    """Why a scanned file is ``unreadable``. Group and count by this, never by message text."""

    EMPTY = "empty"                            # 0 bytes
    TRUNCATED = "truncated"                    # the end marker or the pixel data the header promises is missing
    DECOMPRESSION_BOMB = "decompression bomb"  # over twice Pillow's MAX_IMAGE_PIXELS: not decoded
    UNIDENTIFIED = "unidentified"              # no Pillow format recognises the content
    BAD_HEADER = "bad header"                  # a format recognised it, then its header failed to parse
    UNSUPPORTED = "unsupported variant"        # a valid file of a variant Pillow's reader lacks (XPM by colour name)
    NO_PIXELS = "no pixels"                    # a header with a zero width or height
    DECODE_FAILED = "decode failed"            # a --deep decode raised
    BROKEN_LINK = "broken link"                # a symlink to nothing
    NOT_A_FILE = "not a file"                  # a directory (or other non-regular file) where a file was listed
    PERMISSION_DENIED = "permission denied"
    CANNOT_OPEN = "cannot open"                # any other failure to open the file
    READ_ERROR = "read error"                  # opened, then reading it failed (I/O error)
    TIMEOUT = "timeout"                        # still being read past the time limit: its worker was killed
    CRASH = "crash"                            # its worker died while reading it (signal, exit)
    DAMAGED_ARCHIVE = "damaged archive"        # an archive that cannot be listed, or is damaged past its members
    ENCRYPTED = "encrypted"                    # an archive member that needs a password

    def __str__(self) -> str:
        return self.value
