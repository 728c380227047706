"""A sample's image and its targets, and the target checks of a contract's ``mask`` and ``boxes``.

Samples, in torchvision v2's conventions (what ``wrap_dataset_for_transforms_v2`` gives
for VOC and COCO):

* an image alone;
* ``(image, target)``: a 2-tuple (or list) whose first part is an image;
* a dict: its image under ``"image"`` (or ``"img"``, else its first image), its target
  under ``"target"``, else the dict's other entries.

A target is a ``tv_tensors.Mask``, a PIL image or a 2-D/3-D tensor or array (a mask),
``tv_tensors.BoundingBoxes``, or a dict with ``"mask"``/``"masks"``, ``"boxes"`` and
``"labels"``. ``"masks"`` beside boxes are instance masks ``[N, H, W]``; without boxes,
the semantic mask. Anything else (an int label) holds no mask and no boxes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Optional

from ..diagnosis import Hypothesis, HypothesisKind
from ._box_checks import check_boxes
from ._errors import Reason, TargetViolation, Violation
from ._mask_checks import check_instance_masks, check_mask, is_tv_mask
from ._registry import loaded_tv_tensors, reader_for

if TYPE_CHECKING:
    from . import Contract  # the package: _contract leads here through the checks

_IMAGE_KEYS = ("image", "img")


class Targets(NamedTuple):
    """The targets found in a sample (``None`` where it has none)."""

    mask: Any = None    # semantic: [H, W] or [1, H, W] class ids
    masks: Any = None   # instance masks [N, H, W], one a box
    boxes: Any = None
    labels: Any = None


def _ndim(x: Any) -> int:
    if reader_for(x) is None:
        return -1
    return 2 if not hasattr(x, "ndim") else int(x.ndim)


def _is_boxes(x: Any) -> bool:
    tv = loaded_tv_tensors()
    return tv is not None and isinstance(x, tv.BoundingBoxes)


def _is_explicit_image(x: Any) -> bool:
    tv = loaded_tv_tensors()
    return type(x).__module__.startswith("PIL.") or (tv is not None and isinstance(x, (tv.Image, tv.Video)))


def split_sample(x: Any) -> Optional[tuple[Any, Any]]:
    """``(image, target)`` of a structured sample, or ``None`` for anything else (an image
    alone, or something with no image in it: checked as before)."""
    if isinstance(x, (tuple, list)):
        return (x[0], x[1]) if len(x) == 2 and reader_for(x[0]) is not None else None
    # a dict, or another mapping (the ABC check only for a type with keys: a check of an image
    # alone, the common case, stays a few type tests)
    if not (isinstance(x, dict) or (hasattr(type(x), "keys") and isinstance(x, Mapping))):
        return None
    key = next((k for k in _IMAGE_KEYS if k in x), None)
    if key is None:
        images = [k for k, v in x.items() if _is_explicit_image(v)] or [
            k for k, v in x.items() if _ndim(v) >= 2 and not _is_boxes(v) and not is_tv_mask(v)]
        key = images[0] if images else None
    if key is None:
        return None
    target = x["target"] if "target" in x else {k: v for k, v in x.items() if k != key}
    return x[key], target


def targets_of(target: Any) -> Targets:
    """The mask, instance masks, boxes and labels of a ``target`` (see the module rules)."""
    if isinstance(target, Mapping):
        mask, masks, boxes = target.get("mask"), target.get("masks"), target.get("boxes")
        if mask is None and masks is None:  # keys of its own: the parts by type
            mask = next((v for v in target.values() if is_tv_mask(v)), None)
        if boxes is None:
            boxes = next((v for v in target.values() if _is_boxes(v)), None)
        if mask is None and boxes is None:
            mask, masks = masks, None
        return Targets(mask, masks, boxes, target.get("labels"))
    if _is_boxes(target):
        return Targets(boxes=target)
    if _ndim(target) >= 2:
        return Targets(mask=target)
    return Targets()


def targets_of_flat(flat: list[Any], image: Any) -> Targets:
    """The targets among the parts of a flattened sample (what a v2 transform sees): boxes
    by type, a mask by type (``tv_tensors.Mask``) or as the first other part with height and
    width, labels as the first other 1-D part."""
    boxes = next((x for x in flat if _is_boxes(x)), None)
    rest = [x for x in flat if x is not image and not _is_boxes(x)]
    candidates = [x for x in rest if is_tv_mask(x)] or [x for x in rest if _ndim(x) >= 2]
    mask = candidates[0] if candidates else None
    labels = next((x for x in rest if _ndim(x) == 1), None)
    masks = None
    n_boxes = None if boxes is None else int(boxes.shape[0])
    if mask is not None and n_boxes is not None and _ndim(mask) == 3 and mask.shape[0] == n_boxes != 1:
        mask, masks = None, mask
    return Targets(mask, masks, boxes, labels)


def _missing(what: str, rule: str) -> Violation:
    hyp = Hypothesis(HypothesisKind.TARGET_MISSING, 0.95, f"a sample without its {what}", "",
                     f"return (image, target) from the dataset, the target holding the {what}; a torchvision "
                     "dataset gives it through torchvision.datasets.wrap_dataset_for_transforms_v2(dataset)")
    return TargetViolation(Reason.TARGET_MISSING, what, None,
                           f"has no {what}, which the contract's {rule} rule expects", hyp)


def check_targets(contract: Contract, hw: Optional[tuple[int, int]], targets: Targets) -> list[Violation]:
    """Every way ``targets`` fail the contract's ``mask`` and ``boxes`` rules beside an image of
    height × width ``hw`` (``None``: the image has none, so sizes are not compared)."""
    found: list[Violation] = []
    if contract.mask is not None:
        if targets.mask is not None:
            found += check_mask(contract.mask, hw, targets.mask)
        elif targets.masks is None:
            found.append(_missing("mask", "mask"))
    if targets.masks is not None:
        found += check_instance_masks(hw, targets.masks)
    if contract.boxes is not None:
        if targets.boxes is None:
            found.append(_missing("boxes", "boxes"))
        else:
            found += check_boxes(contract.boxes, hw, targets.boxes, targets.labels)
    return found


def images_only(contract: Optional[Contract], where: str) -> None:
    """Refuse a contract with target rules (``mask=``, ``boxes=``) where only images are
    checked so far: each sample would fail as having no target.

    Raises:
        NotImplementedError: ``contract`` has target rules.
    """
    if contract is not None and contract.has_targets:
        raise NotImplementedError(
            f"{where} checks images only so far, and this contract has target rules ({contract!r}): "
            "check samples with their targets by Contract.check/validate or pg.Validate in a v2 chain, "
            f"and give {where} the contract without mask= and boxes=")
