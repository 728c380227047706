"""Boxes and labels against their image and a :class:`BoxSpec`; each failure carries its likely cause.

Boxes are ``tv_tensors.BoundingBoxes`` in any axis-aligned format (converted to XYXY with
torchvision's ``convert_bounding_box_format``; rotated formats get the canvas and label
checks only) or an ``[N, 4]`` tensor, array or list read as XYXY on the image's canvas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..diagnosis import Hypothesis, HypothesisKind, numbers
from ._errors import Reason, TargetViolation, Violation
from ._mask_checks import as_array
from ._registry import loaded_tv_tensors

if TYPE_CHECKING:
    import numpy as np

    from ._target_specs import BoxSpec

AXIS_ALIGNED = ("XYXY", "XYWH", "CXCYWH")
_EPS = 1e-6  # float slack for coordinates on the edge


def _reread(raw: "np.ndarray", fmt: str) -> "np.ndarray":
    """``raw`` read in ``fmt``, as XYXY (numpy: for trying other readings of the same numbers)."""
    import numpy as np

    a, b, c, d = raw.T
    if fmt == "XYWH":
        return np.stack([a, b, a + c, b + d], axis=1)
    if fmt == "CXCYWH":
        return np.stack([a - c / 2, b - d / 2, a + c / 2, b + d / 2], axis=1)
    return raw


def _xyxy(boxes: Any, fmt: str, raw: "np.ndarray") -> "np.ndarray":
    import numpy as np

    if fmt == "XYXY":
        return raw
    from torchvision.transforms.v2 import functional as F

    tv = loaded_tv_tensors()
    out = F.convert_bounding_box_format(boxes, new_format=tv.BoundingBoxFormat.XYXY)
    return as_array(out).astype(np.float64).reshape(-1, 4)


def _outside_by(xyxy: "np.ndarray", hw: tuple[int, int]) -> "np.ndarray":
    import numpy as np

    x1, y1, x2, y2 = xyxy.T
    return np.max(np.stack([-x1, -y1, x2 - hw[1], y2 - hw[0]]), axis=0)


def _degenerate(xyxy: "np.ndarray", min_size: float) -> "np.ndarray":
    w, h = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    return (w <= 0) | (h <= 0) | (w < min_size) | (h < min_size)


def _fine(xyxy: "np.ndarray", hw: Optional[tuple[int, int]], min_size: float) -> bool:
    inside = hw is None or bool((_outside_by(xyxy, hw) <= _EPS).all())
    return inside and not _degenerate(xyxy, min_size).any()


def _boxes(n: int, what: str = "") -> str:
    return f"{n:,} {what}{'box' if n == 1 else 'boxes'}"


def _box_text(raw: "np.ndarray", i: int, fmt: str) -> str:
    return f"box {i}: [{', '.join(f'{v:g}' for v in raw[i])}] {fmt}"


def _canvas(hw: Optional[tuple[int, int]]) -> str:
    return f"canvas_size=({hw[0]}, {hw[1]})" if hw else "canvas_size=(height, width)"


def _cause(spec: BoxSpec, hw: Optional[tuple[int, int]], raw: "np.ndarray", fmt: str,
           formats: bool = True) -> Optional[Hypothesis]:
    """A reading of the numbers under which every box is fine: fractions, or (with ``formats``)
    another format."""
    top = float(raw.max()) if raw.size else 0.0
    if hw is not None and raw.size and float(raw.min()) >= 0 and top <= 1.0 and max(hw) > 2:
        H, W = hw
        return Hypothesis(HypothesisKind.BOX_NORMALIZED, 0.97,
                          f"box coordinates up to {top:g}: fractions of the image size (YOLO-style), not pixels", "",
                          f"multiply x by the width ({W}) and y by the height ({H}): "
                          f"boxes * torch.tensor([{W}, {H}, {W}, {H}])")
    for alt in AXIS_ALIGNED if formats else ():
        if alt != fmt and _fine(_reread(raw, alt), hw, spec.min_size):
            return Hypothesis(HypothesisKind.BOX_FORMAT, 0.95,
                              f"boxes in {alt} read as {fmt}? Read as {alt}, all {len(raw)} lie inside the image "
                              f"with sides of at least {spec.min_size:g} px", "",
                              f"tv_tensors.BoundingBoxes(boxes, format='{alt}', {_canvas(hw)}); "
                              "v2.ConvertBoundingBoxFormat('XYXY') converts them for a model that wants XYXY")
    return None


def check_boxes(spec: BoxSpec, hw: Optional[tuple[int, int]], boxes: Any, labels: Any) -> list[Violation]:
    """Every way ``boxes`` (and their ``labels``) fail ``spec`` beside an image of size ``hw``."""
    import numpy as np

    tv = loaded_tv_tensors()
    bounding = tv is not None and isinstance(boxes, tv.BoundingBoxes)
    canvas = tuple(int(v) for v in boxes.canvas_size) if bounding else None
    fmt = boxes.format.name if bounding else "XYXY"
    raw = np.asarray(as_array(boxes), dtype=np.float64)
    if raw.ndim == 1 and raw.size == 4:
        raw = raw.reshape(1, 4)
    found: list[Violation] = []
    if fmt in AXIS_ALIGNED and (raw.ndim != 2 or raw.shape[1] != 4) and raw.size:
        found.append(TargetViolation(Reason.BOX_DEGENERATE, "[N, 4]", tuple(raw.shape),
                                     f"has boxes of shape {numbers.shape(raw.shape)}, not the [N, 4] expected"))
        return found + _check_labels(spec, len(raw), labels)
    raw = raw.reshape(-1, 4) if fmt in AXIS_ALIGNED else raw
    apart = canvas is not None and hw is not None and canvas != hw
    if apart:
        found.append(_canvas_violation(canvas, hw))  # type: ignore[arg-type]  # both set when apart
    if fmt in AXIS_ALIGNED and raw.size:
        xyxy = _xyxy(boxes, fmt, raw)
        if hw is not None and not apart:
            found += _outside_violations(spec, hw, raw, xyxy, fmt, bounding)
        found += _degenerate_violations(spec, hw, raw, xyxy, fmt)
    return found + _check_labels(spec, len(raw), labels)


def _canvas_violation(canvas: tuple[int, int], hw: tuple[int, int]) -> Violation:
    (h, w), (H, W) = canvas, hw
    hyp = Hypothesis(HypothesisKind.TARGET_APART, 1.0,
                     f"boxes on a {h}×{w} canvas with a {H}×{W} image: a step resized or cropped the image "
                     "without its boxes", "",
                     "call each v2 transform on (image, target) together, with the boxes as "
                     "tv_tensors.BoundingBoxes, so they move with the image and their canvas_size follows")
    return TargetViolation(Reason.BOX_OUTSIDE, (H, W), (h, w),
                           f"has boxes on a {h}×{w} canvas where its image is {H}×{W}", hyp)


def _outside_violations(spec: BoxSpec, hw: tuple[int, int], raw: "np.ndarray", xyxy: "np.ndarray",
                        fmt: str, bounding: bool) -> list[Violation]:
    over = _outside_by(xyxy, hw)
    bad = over > _EPS
    if not bad.any():
        return []
    n, i, most = int(bad.sum()), int(bad.argmax()), float(over.max())
    H, W = hw
    wrap = "" if bounding else f" (with the boxes as tv_tensors.BoundingBoxes(boxes, format='XYXY', {_canvas(hw)}))"
    hyp = _cause(spec, hw, raw, fmt) or Hypothesis(
        HypothesisKind.BOX_CLAMP, 0.9, f"{_boxes(n)} outside the {H}×{W} image by up to {most:g} px",
        "", f"v2.ClampBoundingBoxes() then v2.SanitizeBoundingBoxes() clamp them to the image and drop those "
            f"left empty, with their labels{wrap}")
    return [TargetViolation(Reason.BOX_OUTSIDE, (H, W), most,
                            f"has {n} of {_boxes(len(raw))} outside its {H}×{W} image, "
                            f"by up to {most:g} px ({_box_text(raw, i, fmt)})", hyp)]


def _degenerate_violations(spec: BoxSpec, hw: Optional[tuple[int, int]], raw: "np.ndarray",
                           xyxy: "np.ndarray", fmt: str) -> list[Violation]:
    bad = _degenerate(xyxy, spec.min_size)
    if not bad.any():
        return []
    n, i, m = int(bad.sum()), int(bad.argmax()), spec.min_size
    inverted = bool(((xyxy[:, 2] < xyxy[:, 0]) | (xyxy[:, 3] < xyxy[:, 1])).any())  # only that hints at a format
    hyp = _cause(spec, hw, raw, fmt, formats=inverted) or Hypothesis(
        HypothesisKind.BOX_CLAMP, 0.9,
        f"{_boxes(n, 'empty or too small ')} "
        f"(x2 ≤ x1, y2 ≤ y1, or a side under min_size {m:g} px)", "",
        f"v2.SanitizeBoundingBoxes(min_size={m:g}) drops them with their labels")
    return [TargetViolation(Reason.BOX_DEGENERATE, f"x1 < x2 and y1 < y2 by at least {m:g} px", n,
                            f"has {n} of {_boxes(len(raw))} with x2 ≤ x1 or y2 ≤ y1 or a side "
                            f"under min_size {m:g} px ({_box_text(xyxy, i, 'as XYXY')})", hyp)]


def _check_labels(spec: BoxSpec, n: int, labels: Any) -> list[Violation]:
    if labels is None:
        if n == 0:
            return []
        return [TargetViolation(Reason.BOX_LABELS, n, 0, f"has {_boxes(n)} and no labels", Hypothesis(
            HypothesisKind.LABELS, 0.95, f"{_boxes(n)} without labels", "",
            "return the labels with the boxes: target = {'boxes': boxes, 'labels': labels} "
            "(torchvision's detection format)"))]
    lab = as_array(labels).reshape(-1)
    if lab.size != n:
        return [TargetViolation(Reason.BOX_LABELS, n, int(lab.size),
                                f"has {_boxes(n)} and {numbers.plural(int(lab.size), 'label')}",
                                Hypothesis(HypothesisKind.LABELS, 0.95,
                                           f"{_boxes(n)} with {numbers.plural(int(lab.size), 'label')}: "
                                           "not one label a box", "",
                                           "keep each box with its label: drop or add them together "
                                           "(v2.SanitizeBoundingBoxes drops both)"))]
    nc = spec.num_classes
    if nc is None or not lab.size:
        return []
    bad = (lab < 0) | (lab >= nc)
    if not bad.any():
        return []
    lo, hi = lab.min().item(), lab.max().item()
    return [TargetViolation(Reason.BOX_LABELS, (0, nc - 1), (lo, hi),
                            f"has labels {lo:g}..{hi:g}, {int(bad.sum())} outside [0, {nc}) for num_classes={nc}",
                            _labels_hypothesis(nc, lo, hi))]


def _labels_hypothesis(nc: int, lo: float, hi: float) -> Hypothesis:
    head = f"labels {lo:g}..{hi:g} with num_classes={nc}"
    if hi == nc and lo >= 1:
        return Hypothesis(HypothesisKind.CLASS_COUNT, 0.95,
                          f"{head}: torchvision's detection models count the background as class 0, "
                          f"so {nc} classes need num_classes={nc + 1}", "",
                          f"BoxSpec(num_classes={nc + 1}) and the model's num_classes={nc + 1}; or subtract 1 "
                          "if the labels are 1-based with no background class")
    if nc == 80 and hi <= 90 and lo >= 1:
        return Hypothesis(HypothesisKind.CLASS_COUNT, 0.95,
                          f"{head}: COCO category ids (1..90, with gaps), not 0..79 indices", "",
                          "num_classes=91, as torchvision's COCO models use; or map the category ids to indices")
    return Hypothesis(HypothesisKind.CLASS_COUNT, 0.9, f"{head}: labels past the contract's classes", "",
                      f"num_classes={int(hi) + 1} if the dataset has that many classes; else remap the labels")
