"""``trace``: run a transform chain step by step on one sample and say where it breaks.

A ``Compose`` (torchvision v1 or v2, or ``torch.nn.Sequential``) is flattened into
its steps, nested ones too, with paths ``"0"``, ``"1"``, ``"2.0"``, ``"2.1"``;
random containers (``RandomApply``, ``RandomChoice``, ``RandomOrder``) stay one
step. Each step runs once on the previous step's output; a step that raises is
recorded (the exception is kept, never propagated) and the steps after it are
listed as not run.

With a contract, every output is checked and the trace names the step that made
the final output fail: for each failed check, the earliest step from which the
failing value (the shape, dtype, ...) stayed as it ended. Intermediate outputs may
fail freely (a PIL image before ``Resize`` has the wrong size, a ``uint8`` tensor
before ``ToDtype`` the wrong dtype): only what the chain ends with counts. A check
the input already failed and no step changed is blamed on the input.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Optional, cast

from ..core import Reason, Violation
from ..diagnosis import first_line, numbers, table

if TYPE_CHECKING:
    from ..core import Contract

_TABLE_REPR_WIDTH = 60


@dataclass(frozen=True)
class TraceRow:
    """One step of a traced chain (the first row is the input itself).

    Attributes:
        step: ``"input"``, or the step's path: ``"0"``, ``"2.1"`` (nested ``Compose``).
        transform: the step's ``repr`` on one line (``"-"`` for the input).
        status: ``"ok"``, ``"raised"`` or ``"not run"``.
        output_type: the image's type (``"PIL.Image"``, ``"tv_tensors.Image"``, ...);
            ``"tv_tensors.Image in tuple"`` when the sample is a structure.
        mode: the PIL mode, for PIL images.
        shape: the image's shape (``(C, H, W)`` for a PIL image, as ``pil_to_tensor`` makes it).
        dtype: the dtype name (for PIL, what ``pil_to_tensor`` would give).
        meets: whether the output meets the contract; ``None`` without one or when not run.
        violations: the failed checks.
        error: ``"TypeError: ..."`` for the step that raised.
    """

    step: str
    transform: str
    status: str = "ok"
    output_type: Optional[str] = None
    mode: Optional[str] = None
    shape: Optional[tuple] = None
    dtype: Optional[str] = None
    meets: Optional[bool] = None
    violations: tuple[Violation, ...] = ()
    error: Optional[str] = None

    def violation(self, reason: Reason) -> Optional[Violation]:
        return next((v for v in self.violations if v.reason is reason), None)


@dataclass
class TransformTrace:
    """What :func:`trace` found. ``str()`` renders an aligned table and a verdict.

    Attributes:
        rows: the input row, then one :class:`TraceRow` per step, in order.
        contract: the contract checked, or ``None``.
        output: the last output produced (the final one when no step raised).
        error: the exception the raising step raised, or ``None``.
        causes: for each check the final output fails, the row that made it fail.
    """

    rows: list[TraceRow]
    contract: Optional[Contract] = None
    output: Any = None
    error: Optional[BaseException] = None
    causes: list[tuple[Violation, TraceRow]] = field(default_factory=list)

    @property
    def raised(self) -> Optional[TraceRow]:
        """The step that raised, if any."""
        return next((r for r in self.rows if r.status == "raised"), None)

    @property
    def breaking(self) -> Optional[TraceRow]:
        """The first step that breaks the contract (the input row when only the input fails)."""
        steps = [row for _, row in self.causes if row.step != "input"]
        if steps:
            return min(steps, key=self.rows.index)
        return self.causes[0][1] if self.causes else None

    @property
    def breaking_step(self) -> Optional[str]:
        row = self.breaking
        return None if row is None else row.step

    @property
    def ok(self) -> bool:
        """No step raised and the final output meets the contract (if one was given)."""
        return self.error is None and not self.causes

    def __iter__(self) -> Iterator[TraceRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame (violations as text)."""
        import pandas as pd

        return pd.DataFrame([{
            "step": r.step, "transform": r.transform, "status": r.status, "output_type": r.output_type,
            "mode": r.mode, "shape": r.shape, "dtype": r.dtype, "meets": r.meets,
            "violations": [str(v) for v in r.violations], "error": r.error} for r in self.rows])

    def verdict(self) -> list[str]:
        """The sentences under the table: which step raised, which broke the contract."""
        lines = []
        raised = self.raised
        if raised is not None:
            lines.append(f"step {raised.step}, {raised.transform}, raised {raised.error}")
        for violation, row in sorted(self.causes, key=lambda c: self.rows.index(c[1])):
            line = _blame(violation, row, cast("Contract", self.contract))  # causes come from a contract
            if line not in lines:  # one channels-last step can cause several failures
                lines.append(line)
        if not lines and self.contract is not None:
            lines.append(f"the output meets contract {self.contract.label}")
        return lines

    def __str__(self) -> str:
        header = ("step", "transform", "output", "mode", "shape", "dtype", "contract")
        rows = [_cells(r, self.contract is not None) for r in self.rows]
        return "\n".join(table(header, rows) + self.verdict())


def _cells(row: TraceRow, checked: bool) -> tuple[str, ...]:
    name = row.transform
    if len(name) > _TABLE_REPR_WIDTH:
        name = name[:_TABLE_REPR_WIDTH - 1] + "…"
    if row.status != "ok":
        verdict = row.status
    elif not checked:
        verdict = "-"
    else:
        verdict = "ok" if row.meets else "fails: " + ", ".join(v.reason.value for v in row.violations)
    shape = "-" if row.shape is None else numbers.shape(row.shape)
    return (row.step, name, row.output_type or "-", row.mode or "-", shape, row.dtype or "-", verdict)


def _blame(v: Violation, row: TraceRow, contract: Contract) -> str:
    """``"step 0, Resize(...), made it [3, 64, 64]; the contract wants [3, 224, 224]"``."""
    from ..core import expected_dims

    if v.reason is Reason.DTYPE:
        made, wants = f"made it {v.actual}", str(v.expected)
    elif v.reason is Reason.RANGE:
        made = f"made its values [{v.actual[0]:g}, {v.actual[1]:g}]"
        wants = f"values in [{v.expected[0]:g}, {v.expected[1]:g}]"
    elif v.reason is Reason.TYPE:
        made, wants = f"made it {v.actual}", "an image or tensor"
    else:
        mode = f" (mode {row.mode!r})" if row.mode and v.reason is Reason.CHANNELS else ""
        made = f"made it {numbers.shape(row.shape)}{mode}"
        batch = len(row.shape) == 4 if row.shape is not None else False
        dims = expected_dims(contract, _batch_info(cast(tuple, row.shape)) if batch else None)
        wants = numbers.shape(dims.shape) if dims.shape is not None else str(v.expected)
    if row.step == "input":
        v = row.violation(v.reason) or v  # its own words (they name the PIL mode)
        return f"the input {v.message}, and no step changed that ({v.reason.value}; the contract wants {wants})"
    layout = row.violation(Reason.LAYOUT) if v.reason is not Reason.LAYOUT else None
    if layout is not None:  # blamed for what later steps made of its channels-last output
        v = layout
    return f"step {row.step}, {row.transform}, {made}; the contract wants {wants} ({v.reason.value}: {v.message})"


def _batch_info(shape: tuple) -> Any:
    from ..core import SampleInfo

    n, c, h, w = shape  # only .batch matters to expected_dims
    return SampleInfo(kind="torch.Tensor", shape=shape, layout="NCHW", channels=c, height=h, width=w,
                      batch=n, numel=c * h * w, dtype=None)


# -- running ------------------------------------------------------------------------------

def _containers() -> tuple[type, ...]:
    import torch
    from torchvision import transforms as v1
    from torchvision.transforms import v2

    return (v1.Compose, v2.Compose, torch.nn.Sequential)


def flatten_steps(transform: Any) -> list[tuple[str, Any]]:
    """``[(path, step), ...]`` of a chain, nested ``Compose``/``Sequential`` flattened.

    A single transform that is no container is one step, ``"0"``.
    """
    import torch

    containers = _containers()

    def walk(t: Any, prefix: str) -> list[tuple[str, Any]]:
        children = list(t) if isinstance(t, torch.nn.Sequential) else list(t.transforms)
        out: list[tuple[str, Any]] = []
        for i, child in enumerate(children):
            path = f"{prefix}{i}"
            out.extend(walk(child, path + ".") if isinstance(child, containers) else [(path, child)])
        return out

    return walk(transform, "") if isinstance(transform, containers) else [("0", transform)]


def step_name(t: Any) -> str:
    """A one-line name for a step: its ``repr``, or the qualified name of a plain function."""
    if isinstance(t, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return t.__qualname__
    try:
        return " ".join(repr(t).split())
    except Exception as exc:  # a repr must never stop the trace
        return f"{type(t).__name__} (repr failed: {type(exc).__name__})"


def _image_of(out: Any) -> tuple[Any, Optional[str]]:
    """The image inside ``out`` (by :func:`~._selection.first_image`, the rule the transforms
    select by) and the container's type name, or ``(out, None)`` for a bare sample."""
    from ..core import reader_for

    if reader_for(out) is not None:
        return out, None
    from torch.utils._pytree import tree_flatten

    from ._selection import first_image

    found = first_image(tree_flatten(out)[0])
    return (found, type(out).__name__) if found is not None else (out, None)


def _describe(step: str, name: str, out: Any, contract: Optional[Contract]) -> TraceRow:
    from ..core import inspect, type_name

    image, container = _image_of(out)
    try:
        info = inspect(image, contract)
    except Exception:
        info = None
    kind = info.kind if info is not None else type_name(image)
    output_type = f"{kind} in {container}" if container else kind
    violations: tuple[Violation, ...] = ()
    meets = None
    if contract is not None:
        violations = tuple(contract.check(image))
        meets = not violations
    if info is None:
        return TraceRow(step, name, "ok", output_type, meets=meets, violations=violations)
    return TraceRow(step, name, "ok", output_type, info.mode, tuple(info.shape), info.dtype, meets, violations)


def _causes(rows: list[TraceRow]) -> list[tuple[Violation, TraceRow]]:
    """For each violation of the last produced output, the row from which it held unchanged."""
    done = [r for r in rows if r.status == "ok"]
    last = done[-1]
    causes = []
    for v in last.violations:
        cause = last
        for row in reversed(done[:-1]):
            same = row.violation(v.reason)
            # A channels-last output is read with the wrong axes by the steps after it:
            # the step that made the layout wrong made this failure too.
            misread = v.reason is not Reason.LAYOUT and row.violation(Reason.LAYOUT) is not None
            if not misread and (same is None or same.actual != v.actual):
                break
            cause = row
        causes.append((v, cause))
    return causes


def trace(transform: Any, sample: Any, contract: Optional[Contract] = None) -> TransformTrace:
    """Run ``transform`` step by step on ``sample``; record each output and the first break.

    Args:
        transform: a ``torchvision.transforms.Compose``, ``transforms.v2.Compose``,
            ``torch.nn.Sequential`` (nested ones are flattened), or any single callable.
        sample: one sample as the chain takes it: a PIL image, array, tensor, or a v2
            structure such as ``(image, label)`` (the image in it is described).
        contract: optional :class:`~pipeguard.Contract` each output is checked against.

    Returns:
        A :class:`TransformTrace`; ``str()`` of it is an aligned table, then the verdict.
        For ``v2.Compose([v2.Resize((64, 64)), v2.ToImage(), v2.ToDtype(torch.float32,
        scale=True)])`` on a 640×480 RGB image against ``Contract(channels=3,
        size=(224, 224), dtype="float32")`` (transform column shortened here)::

            step   transform              output            mode  shape          dtype    contract
            input  -                      PIL.Image         RGB   [3, 480, 640]  uint8    fails: size
            0      Resize(size=[64, 64]…  PIL.Image         RGB   [3, 64, 64]    uint8    fails: size
            1      ToImage()              tv_tensors.Image  -     [3, 64, 64]    uint8    fails: size, dtype
            2      ToDtype(scale=True)    tv_tensors.Image  -     [3, 64, 64]    float32  fails: size
            step 0, Resize(size=[64, 64], interpolation=bilinear, antialias=True), made it
            [3, 64, 64]; the contract wants [3, 224, 224] (size: is 64×64 (H×W), not the
            224×224 expected)

    Random transforms are run once: the trace shows one draw.
    """
    from ..core import images_only

    images_only(contract, "pg.trace")  # each step's target shapes are not traced yet
    rows = [_describe("input", "-", sample, contract)]
    output, error = sample, None
    steps = flatten_steps(transform)
    for i, (path, step) in enumerate(steps):
        name = step_name(step)
        try:
            result = step(output)
        except Exception as exc:  # recorded, not propagated: the trace is the report
            error = exc
            rows.append(TraceRow(path, name, "raised", error=f"{type(exc).__name__}: {first_line(exc)}"))
            rows.extend(TraceRow(p, step_name(s), "not run") for p, s in steps[i + 1:])
            break
        output = result
        rows.append(_describe(path, name, output, contract))
    causes = _causes(rows) if contract is not None else []
    return TransformTrace(rows=rows, contract=contract, output=output, error=error, causes=causes)
