"""Targets checked with their image: MaskSpec, BoxSpec, Contract(mask=, boxes=), each diagnosis's fix applied."""

import json
import pickle
import tomllib

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

import pipeguard as pg
from pipeguard import HypothesisKind, Reason

SEG = pg.Contract(channels=3, size=(64, 64), mask=pg.MaskSpec(num_classes=21, ignore_index=255), name="voc")
DET = pg.Contract(channels=3, boxes=pg.BoxSpec(num_classes=81))


def _image(size=(64, 64)) -> Image.Image:
    h, w = size
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8))


def _ids(size=(64, 64), classes=(0, 7, 20)) -> np.ndarray:
    """A class-id mask: horizontal bands of ``classes``, a 255 border (VOC's void)."""
    h, w = size
    a = np.zeros((h, w), dtype=np.uint8)
    for i, c in enumerate(classes):
        a[i * h // len(classes):(i + 1) * h // len(classes)] = c
    a[:, :2] = 255
    return a


def _error(contract, sample) -> pg.ContractViolation:
    with pytest.raises(pg.ContractViolation) as info:
        contract.validate(sample)
    return info.value


def _passes(contract, sample):
    assert contract.check(sample) == [], contract.check(sample)
    assert contract.validate(sample) is sample


# -- the specs and the contract's fields ------------------------------------------------------

def test_specs_are_frozen_public_and_shown_in_repr():
    assert pg.MaskSpec is pg.core.MaskSpec and pg.BoxSpec is pg.core.BoxSpec
    m, b = pg.MaskSpec(num_classes=21, ignore_index=255), pg.BoxSpec(num_classes=80, min_size=2)
    assert b.min_size == 2.0 and pg.BoxSpec().min_size == 1.0 and pg.MaskSpec().num_classes is None
    with pytest.raises(AttributeError):
        m.num_classes = 3  # type: ignore[misc]
    c = pg.Contract(channels=3, mask=m, boxes=b)
    assert c.has_targets and not pg.Contract(channels=3).has_targets
    assert repr(c) == ("Contract(channels=3, mask=MaskSpec(num_classes=21, ignore_index=255), "
                       "boxes=BoxSpec(num_classes=80, min_size=2.0))")
    assert hash(c) == hash(pg.Contract(channels=3, mask={"num_classes": 21, "ignore_index": 255}, boxes=b))


@pytest.mark.parametrize("fields, field", [
    ({"mask": pg.MaskSpec}, "mask"), ({"mask": 3}, "mask"), ({"mask": {"classes": 3}}, "mask.classes"),
    ({"boxes": {"num_classes": 0}}, "boxes.num_classes"), ({"boxes": {"min_size": -1}}, "boxes.min_size"),
    ({"mask": {"ignore_index": 2.5}}, "mask.ignore_index"), ({"boxes": {"min_size": float("nan")}}, "boxes.min_size"),
])
def test_odd_target_fields_are_field_errors_naming_the_key(fields, field):
    with pytest.raises(pg.ContractFieldError) as info:
        pg.Contract(**fields)
    assert info.value.field == field


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_contract_files_hold_the_target_rules(tmp_path, suffix):
    c = pg.Contract(channels=3, size=(512, 512), mask=pg.MaskSpec(num_classes=21, ignore_index=255),
                    boxes=pg.BoxSpec(num_classes=80, min_size=1.0), name="seg")
    path = tmp_path / f"contract{suffix}"
    c.save(path)
    assert pg.Contract.load(path) == c
    data = json.loads(path.read_text()) if suffix == ".json" else tomllib.loads(path.read_text())
    assert data["mask"] == {"num_classes": 21, "ignore_index": 255}
    assert data["boxes"] == {"num_classes": 80, "min_size": 1.0}
    assert pg.Contract.from_dict(c.to_dict()) == c


def test_contract_file_tables_as_written_by_hand(tmp_path):
    path = tmp_path / "contract.toml"
    path.write_text("channels = 3\n\n[mask]\nnum_classes = 21\nignore_index = 255\n\n[boxes]\nnum_classes = 80\n")
    assert pg.Contract.load(path) == pg.Contract(channels=3, mask=pg.MaskSpec(num_classes=21, ignore_index=255),
                                                 boxes=pg.BoxSpec(num_classes=80))
    path.write_text("[mask]\nnum_class = 21\n")
    with pytest.raises(pg.ContractFileError) as info:
        pg.Contract.load(path)
    assert info.value.key == "mask.num_class" and "known keys are num_classes, ignore_index" in str(info.value)


def test_pyproject_round_trip_keeps_the_other_tables(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n\n[tool.ruff]\nline-length = 99\n')
    c = pg.Contract(size=(64, 64), mask=pg.MaskSpec(num_classes=2))
    c.save(path)
    assert pg.Contract.load(path) == c
    data = tomllib.loads(path.read_text())
    assert data["tool"]["pipeguard"]["mask"] == {"num_classes": 2} and data["tool"]["ruff"] == {"line-length": 99}
    pg.Contract(size=(64, 64)).save(path)   # dropping the rule drops its table
    assert "mask" not in tomllib.loads(path.read_text())["tool"]["pipeguard"]


# -- sample forms ---------------------------------------------------------------------------

def test_a_contract_without_target_rules_checks_the_image_and_ignores_targets():
    plain = pg.Contract(channels=3, size=(64, 64))
    img = _image()
    bad_mask = torch.zeros(3, 10, 10)
    for sample in (img, (img, 3), (img, bad_mask), {"image": img, "mask": bad_mask}, [img, {"boxes": 1}]):
        assert plain.check(sample) == []
    assert [v.reason for v in plain.check((_image((8, 8)), 3))] == [Reason.SIZE]
    assert [v.reason for v in plain.check(("cat.png", 3))] == [Reason.TYPE]   # no image: as before


@pytest.mark.parametrize("make", [
    lambda img, m: (img, tv_tensors.Mask(torch.from_numpy(m))),
    lambda img, m: (img, Image.fromarray(m)),
    lambda img, m: (img, torch.from_numpy(m)[None]),
    lambda img, m: (img, m),
    lambda img, m: (img, {"mask": tv_tensors.Mask(torch.from_numpy(m))}),
    lambda img, m: {"image": img, "mask": torch.from_numpy(m)},
    lambda img, m: {"img": img, "target": {"masks": Image.fromarray(m)}},
    lambda img, m: {"picture": F.pil_to_tensor(img), "segmentation": tv_tensors.Mask(torch.from_numpy(m))},
], ids=["Mask", "PIL", "tensor", "numpy", "dict-target", "dict", "dict-with-target", "dict-any-keys"])
def test_every_sample_form_is_checked(make):
    sample = make(_image(), _ids())
    _passes(SEG, sample)
    small = make(_image(), _ids((32, 64)))
    assert [v.reason for v in SEG.check(small)] == [Reason.MASK_SIZE]


def test_target_missing_and_its_fix():
    img = _image()
    for sample in (img, (img, 3), {"image": img, "label": 3}):
        err = _error(SEG, sample)
        assert err.reasons == [Reason.TARGET_MISSING]
        assert "has no mask, which the contract's mask rule expects" in str(err)
        assert "wrap_dataset_for_transforms_v2" in err.diagnosis.best.fix
    _passes(SEG, (img, tv_tensors.Mask(torch.from_numpy(_ids()))))   # the fix: return (image, target)
    assert [v.reason for v in DET.check((img, tv_tensors.Mask(torch.from_numpy(_ids()))))] == [
        Reason.TARGET_MISSING]


# -- masks: each failure, its diagnosis, its fix applied --------------------------------------

def test_a_random_crop_leaves_a_plain_tensor_mask_behind_and_tv_mask_fixes_it():
    contract = pg.Contract(channels=3, size=(256, 256), mask=pg.MaskSpec(num_classes=21, ignore_index=255))
    chain = v2.Compose([v2.ToImage(), v2.RandomResizedCrop(256), pg.Validate(contract)])
    img, ids = _image((512, 512)), torch.from_numpy(_ids((512, 512)))
    with pytest.raises(pg.ContractViolation) as info:
        chain(img, ids)
    err = info.value
    assert err.reasons == [Reason.MASK_SIZE] and err.stage.startswith("Validate(")
    assert "check     mask size: has a 512×512 (H×W) mask where its image is 256×256" in str(err)
    best = err.diagnosis.best
    assert best.kind is HypothesisKind.TARGET_APART
    assert best.summary.startswith("mask 512×512 where its image is 256×256: a step changed the image only")
    assert "plain tensor mask passes through v2 transforms untouched" in best.summary
    assert best.fix.startswith("wrap the mask as tv_tensors.Mask(mask) so v2 transforms move it too")
    for seed in range(3):   # the fix, applied: the same chain moves a tv_tensors.Mask with its image
        torch.manual_seed(seed)
        image, mask = chain(img, tv_tensors.Mask(ids))
        assert mask.shape == (256, 256) and set(mask.unique().tolist()) <= {0, 7, 20, 255}


def test_a_mask_resized_apart_names_both_sizes_and_nearest_resize_fixes_it():
    img, mask = _image(), tv_tensors.Mask(torch.from_numpy(_ids((128, 96))))
    err = _error(SEG, (img, mask))
    best = err.diagnosis.best
    assert err.reasons == [Reason.MASK_SIZE] and err.violations[0].actual == (128, 96)
    assert best.summary.startswith(
        "mask 128×96 where its image is 64×64: the image and its mask were transformed apart")
    assert best.arithmetic == "image ÷ mask: 64/128 = 0.5× in height, 64/96 = 0.667× in width"
    assert "resize the mask to 64×64 with InterpolationMode.NEAREST" in best.fix
    _passes(SEG, (img, F.resize(mask, [64, 64], interpolation=InterpolationMode.NEAREST)))


def test_a_gray_mask_saved_as_rgb_and_taking_one_channel():
    img, ids = _image(), _ids()
    rgb = Image.fromarray(ids).convert("RGB")
    err = _error(SEG, (img, rgb))
    assert err.reasons == [Reason.MASK_CHANNELS]
    assert "has a 3-channel mask (mode 'RGB'), not the 1 channel of class ids expected" in str(err)
    best = err.diagnosis.best
    assert best.kind is HypothesisKind.MASK_RGB and best.summary.startswith("a mask saved as RGB")
    assert best.fix == "take one channel: mask.convert('L')"
    fixed = rgb.convert("L")
    _passes(SEG, (img, fixed))
    assert np.array_equal(np.asarray(fixed), ids)
    as_tensor = F.pil_to_tensor(rgb)
    assert _error(SEG, (img, as_tensor)).diagnosis.best.fix == "take one channel: mask[:1]"
    _passes(SEG, (img, as_tensor[:1]))
    as_array = np.asarray(rgb)
    assert _error(SEG, (img, as_array)).diagnosis.best.fix == "take one channel: mask[..., 0]"
    _passes(SEG, (img, as_array[..., 0]))


def test_a_palette_mask_converted_to_rgb_is_colour_coded_and_opening_it_as_saved_fixes_it(tmp_path):
    ids = _ids()
    pal = Image.fromarray(ids, mode="P")
    pal.putpalette([v for i in range(256) for v in ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)])
    pal.save(tmp_path / "mask.png")
    img = _image()
    err = _error(SEG, (img, Image.open(tmp_path / "mask.png").convert("RGB")))
    best = err.diagnosis.best
    assert best.summary.startswith("a colour-coded 3-channel mask: its channels differ")
    assert "do not .convert('RGB') it" in best.fix
    opened = Image.open(tmp_path / "mask.png")   # the fix: open it as saved
    assert opened.mode == "P"
    _passes(SEG, (img, opened))


def test_a_one_hot_mask_and_argmax():
    ids = torch.from_numpy(_ids(classes=(0, 3, 20)))
    ids[ids == 255] = 0
    one_hot = torch.nn.functional.one_hot(ids.long(), 21).permute(2, 0, 1)
    err = _error(SEG, (_image(), one_hot))
    best = err.diagnosis.best
    assert best.kind is HypothesisKind.MASK_ONE_HOT
    assert best.summary == "a one-hot mask: 21 channels, one a class, with num_classes=21"
    assert best.fix == "mask.argmax(0, keepdim=True) gives the class ids, one channel"
    fixed = one_hot.argmax(0, keepdim=True)
    _passes(SEG, (_image(), fixed))
    assert torch.equal(fixed[0], ids.long())
    hwc = one_hot.permute(1, 2, 0).numpy()
    assert _error(SEG, (_image(), hwc)).diagnosis.best.fix == "mask.argmax(-1) gives the class ids, one channel"
    _passes(SEG, (_image(), hwc.argmax(-1)))


def test_a_mask_through_to_tensor_is_float_and_pil_to_tensor_fixes_it():
    import torchvision.transforms as v1

    img, pil = _image(), Image.fromarray(_ids())
    err = _error(SEG, (img, v1.ToTensor()(pil)))
    assert err.reasons == [Reason.MASK_DTYPE]
    assert "has a float32 mask, not one of integer class ids" in str(err)
    best = err.diagnosis.best
    assert best.kind is HypothesisKind.MASK_SCALED and "ToTensor() or ToDtype(..., scale=True)" in best.summary
    assert best.arithmetic.startswith("values 0..1")
    assert best.fix.startswith("convert masks with v2.PILToTensor() or tv_tensors.Mask(mask), never ToTensor()")
    _passes(SEG, (img, v2.PILToTensor()(pil)))
    _passes(SEG, (img, tv_tensors.Mask(pil)))
    whole = torch.from_numpy(_ids()).float()
    assert _error(SEG, (img, whole)).diagnosis.best.fix.startswith("mask.long()")
    _passes(SEG, (img, whole.long()))


def test_a_bilinear_resize_blends_class_ids_and_nearest_fixes_it():
    contract = pg.Contract(size=(48, 48), mask=pg.MaskSpec(num_classes=21, ignore_index=255))
    img, pil = _image(), Image.fromarray(_ids())
    blended = F.resize(pil, [48, 48], interpolation=InterpolationMode.BILINEAR)
    err = _error(contract, (F.resize(img, [48, 48]), blended))
    v = err.violations[0]
    assert err.reasons == [Reason.MASK_VALUES] and v.message.startswith("has mask values 0..255: ")
    assert "pixels outside [0, 21) or the ignore_index 255" in v.message
    best = err.diagnosis.best
    assert best.kind is HypothesisKind.MASK_INTERPOLATED
    assert best.summary == ("mask values 0..255 with num_classes=21: the mask was resized with bilinear "
                            "interpolation or saved as RGB")
    assert best.fix.startswith("use InterpolationMode.NEAREST")
    nearest = F.resize(pil, [48, 48], interpolation=InterpolationMode.NEAREST)
    _passes(contract, (F.resize(img, [48, 48]), nearest))
    assert best.arithmetic.startswith("5 values no class has, between the ids: 128, 129")


def test_a_v2_chain_resizes_a_pil_mask_as_an_image_and_tv_mask_keeps_its_ids():
    contract = pg.Contract(size=(48, 48), mask=pg.MaskSpec(num_classes=21, ignore_index=255))
    chain = v2.Compose([v2.Resize((48, 48)), pg.Validate(contract)])
    pil = Image.fromarray(_ids())
    with pytest.raises(pg.ContractViolation) as info:   # v2 takes a PIL mask for an image: bilinear
        chain(_image(), pil)
    assert info.value.reasons == [Reason.MASK_VALUES]
    assert info.value.diagnosis.best.kind is HypothesisKind.MASK_INTERPOLATED
    image, mask = chain(_image(), tv_tensors.Mask(pil))   # the fix: a tv_tensors.Mask is resized nearest
    assert set(mask.unique().tolist()) <= {0, 7, 20, 255}


def test_void_pixels_without_an_ignore_index_and_setting_it():
    no_ignore = pg.Contract(mask=pg.MaskSpec(num_classes=21))
    sample = (_image(), _ids())
    best = _error(no_ignore, sample).diagnosis.best
    assert best.kind is HypothesisKind.MASK_IGNORE
    assert best.summary == ("mask values 0..255 with num_classes=21: 255 marks pixels to ignore "
                            "(as the 255 borders of VOC masks)")
    assert best.fix.startswith("MaskSpec(num_classes=21, ignore_index=255)")
    _passes(pg.Contract(mask=pg.MaskSpec(num_classes=21, ignore_index=255)), sample)
    _passes(pg.Contract(mask=pg.MaskSpec()), sample)   # values are read only with num_classes


def test_a_binary_mask_saved_as_0_255_and_dividing():
    binary = pg.Contract(mask=pg.MaskSpec(num_classes=2))
    m = (_ids() > 5).astype(np.uint8) * 255
    best = _error(binary, (_image(), m)).diagnosis.best
    assert best.kind is HypothesisKind.MASK_BINARY_255 and best.fix == "mask // 255 gives ids 0 and 1"
    _passes(binary, (_image(), m // 255))


def test_class_ids_past_num_classes_and_the_count_they_need():
    c = pg.Contract(mask=pg.MaskSpec(num_classes=5))
    m = _ids(classes=(0, 3, 6, 9))
    m[:, :2] = 0
    best = _error(c, (_image(), m)).diagnosis.best
    assert best.kind is HypothesisKind.CLASS_COUNT
    assert best.summary == "mask values 0..9 with num_classes=5: class ids past the contract's classes"
    assert best.fix.startswith("num_classes=10")
    _passes(pg.Contract(mask=pg.MaskSpec(num_classes=10)), (_image(), m))


# -- boxes and labels --------------------------------------------------------------------------

def _target(boxes, labels=None, fmt="XYXY", canvas=(64, 64)):
    t = {"boxes": tv_tensors.BoundingBoxes(boxes, format=fmt, canvas_size=canvas)}
    if labels is not None:
        t["labels"] = torch.tensor(labels)
    return t


def test_xywh_boxes_read_as_xyxy_and_declaring_the_format():
    raw = [[10, 20, 30, 15], [40, 5, 8, 50]]
    err = _error(DET, (_image(), _target(raw, [1, 2])))
    assert err.reasons == [Reason.BOX_DEGENERATE]
    assert ("has 2 of 2 boxes with x2 ≤ x1 or y2 ≤ y1 or a side under min_size 1 px "
            "(box 0: [10, 20, 30, 15] as XYXY)") in str(err)
    best = err.diagnosis.best
    assert best.kind is HypothesisKind.BOX_FORMAT and best.summary.startswith("boxes in XYWH read as XYXY?")
    assert best.fix.startswith("tv_tensors.BoundingBoxes(boxes, format='XYWH', canvas_size=(64, 64))")
    _passes(DET, (_image(), _target(raw, [1, 2], fmt="XYWH")))
    converted = v2.ConvertBoundingBoxFormat("XYXY")(_target(raw, [1, 2], fmt="XYWH"))
    _passes(DET, (_image(), converted))


def test_cxcywh_boxes_are_converted_before_the_checks():
    _passes(DET, (_image(), _target([[32, 32, 20, 10]], [3], fmt="CXCYWH")))
    err = _error(DET, (_image(), _target([[60, 32, 20, 10]], [3], fmt="CXCYWH")))
    assert err.reasons == [Reason.BOX_OUTSIDE] and "by up to 6 px" in str(err)


def test_boxes_outside_by_n_px_and_clamping_then_sanitizing():
    target = _target([[10, 10, 30, 30], [50, -4, 70, 20], [66, 10, 80, 20]], [1, 2, 3])
    err = _error(DET, (_image(), target))
    assert err.reasons == [Reason.BOX_OUTSIDE]
    assert "has 2 of 3 boxes outside its 64×64 image, by up to 16 px (box 1: [50, -4, 70, 20] XYXY)" in str(err)
    best = err.diagnosis.best
    assert best.kind is HypothesisKind.BOX_CLAMP and best.summary == "2 boxes outside the 64×64 image by up to 16 px"
    assert best.fix.startswith("v2.ClampBoundingBoxes() then v2.SanitizeBoundingBoxes()")
    image, fixed = v2.Compose([v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes()])(_image(), target)
    _passes(DET, (image, fixed))
    assert fixed["labels"].tolist() == [1, 2]   # the box left empty went, with its label


def test_plain_boxes_are_xyxy_on_the_image_and_the_fix_wraps_them():
    plain = {"boxes": torch.tensor([[10.0, 10.0, 70.0, 30.0]]), "labels": torch.tensor([1])}
    best = _error(DET, (_image(), plain)).diagnosis.best
    assert "as tv_tensors.BoundingBoxes(boxes, format='XYXY', canvas_size=(64, 64))" in best.fix
    wrapped = {"boxes": tv_tensors.BoundingBoxes(plain["boxes"], format="XYXY", canvas_size=(64, 64)),
               "labels": plain["labels"]}
    image, fixed = v2.Compose([v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes()])(_image(), wrapped)
    _passes(DET, (image, fixed))


def test_degenerate_boxes_and_sanitizing():
    target = _target([[10, 10, 30, 30], [20, 20, 20.5, 40]], [1, 2])
    err = _error(DET, (_image(), target))
    best = err.diagnosis.best
    assert err.reasons == [Reason.BOX_DEGENERATE] and best.kind is HypothesisKind.BOX_CLAMP
    assert best.fix == "v2.SanitizeBoundingBoxes(min_size=1) drops them with their labels"
    image, fixed = v2.SanitizeBoundingBoxes(min_size=1)(_image(), target)
    _passes(DET, (image, fixed))
    _passes(pg.Contract(boxes=pg.BoxSpec(min_size=0.25)), (_image(), target))


def test_normalized_yolo_coordinates_and_scaling_them():
    frac = [[0.1, 0.2, 0.5, 0.6], [0.5, 0.5, 0.9, 0.95]]
    best = _error(DET, (_image((64, 128)), _target(frac, [1, 2], canvas=(64, 128)))).diagnosis.best
    assert best.kind is HypothesisKind.BOX_NORMALIZED
    assert best.summary == "box coordinates up to 0.95: fractions of the image size (YOLO-style), not pixels"
    assert best.fix.endswith("boxes * torch.tensor([128, 64, 128, 64])")
    scaled = torch.tensor(frac) * torch.tensor([128, 64, 128, 64])
    _passes(DET, (_image((64, 128)), _target(scaled, [1, 2], canvas=(64, 128))))


def test_boxes_on_another_canvas_and_transforming_them_together():
    img = _image((128, 128))
    target = _target([[10, 10, 100, 100]], [1], canvas=(128, 128))
    resized = v2.Resize((64, 64))(img)   # the image alone
    err = _error(DET, (resized, target))
    assert err.reasons == [Reason.BOX_OUTSIDE]
    assert "has boxes on a 128×128 canvas where its image is 64×64" in str(err)
    best = err.diagnosis.best
    assert best.kind is HypothesisKind.TARGET_APART and best.fix.startswith("call each v2 transform on (image, target)")
    _passes(DET, v2.Resize((64, 64))(img, target))


def test_labels_missing_miscounted_or_out_of_range():
    boxes = [[10, 10, 30, 30], [5, 5, 20, 20]]
    err = _error(DET, (_image(), _target(boxes)))
    assert err.reasons == [Reason.BOX_LABELS] and "has 2 boxes and no labels" in str(err)
    assert "{'boxes': boxes, 'labels': labels}" in err.diagnosis.best.fix
    err = _error(DET, (_image(), _target(boxes, [1])))
    assert "has 2 boxes and 1 label" in str(err) and err.diagnosis.best.summary.endswith("not one label a box")
    _passes(DET, (_image(), _target(boxes, [1, 2])))
    eighty = pg.Contract(boxes=pg.BoxSpec(num_classes=80))
    err = _error(eighty, (_image(), _target(boxes, [1, 80])))
    assert "has labels 1..80, 1 outside [0, 80) for num_classes=80" in str(err)
    best = err.diagnosis.best
    assert best.summary.startswith("labels 1..80 with num_classes=80: torchvision's detection models count the "
                                   "background as class 0")
    assert best.fix.startswith("BoxSpec(num_classes=81)")
    _passes(pg.Contract(boxes=pg.BoxSpec(num_classes=81)), (_image(), _target(boxes, [1, 80])))
    coco = _error(eighty, (_image(), _target(boxes, [1, 90]))).diagnosis.best
    assert "COCO category ids" in coco.summary and coco.fix.startswith("num_classes=91")
    _passes(pg.Contract(boxes=pg.BoxSpec(num_classes=91)), (_image(), _target(boxes, [1, 90])))


def test_an_image_with_no_objects_conforms():
    _passes(DET, (_image(), _target(torch.zeros(0, 4), [])))


# -- torchvision's own sample formats, Validate in v2 chains, workers -------------------------

def _voc(root, n=2):
    base = root / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "Annotations", "ImageSets/Segmentation", "ImageSets/Main"):
        (base / sub).mkdir(parents=True)
    names = [f"2012_{i:06d}" for i in range(n)]
    for i, name in enumerate(names):
        _image((48, 64)).save(base / "JPEGImages" / f"{name}.jpg")
        mask = Image.fromarray(_ids((48, 64)), mode="P")
        mask.putpalette([v for k in range(256) for v in (k, 255 - k, (k * 7) % 256)])
        mask.save(base / "SegmentationClass" / f"{name}.png")
        (base / "Annotations" / f"{name}.xml").write_text(
            f"<annotation><filename>{name}.jpg</filename><size><width>64</width><height>48</height>"
            "<depth>3</depth></size><object><name>cat</name><bndbox><xmin>5</xmin><ymin>6</ymin>"
            f"<xmax>{40 + i}</xmax><ymax>30</ymax></bndbox></object></annotation>")
    for split in ("Segmentation", "Main"):
        (base / "ImageSets" / split / "train.txt").write_text("\n".join(names) + "\n")


def test_voc_segmentation_through_wrap_dataset_for_transforms_v2(tmp_path):
    from torchvision.datasets import VOCSegmentation, wrap_dataset_for_transforms_v2

    _voc(tmp_path)
    contract = pg.Contract(channels=3, size=(32, 32), mask=pg.MaskSpec(num_classes=21, ignore_index=255))
    chain = v2.Compose([v2.ToImage(), v2.RandomResizedCrop(32), pg.Validate(contract)])
    ds = wrap_dataset_for_transforms_v2(VOCSegmentation(tmp_path, image_set="train", transforms=chain))
    image, mask = ds[0]
    assert isinstance(mask, tv_tensors.Mask) and mask.shape[-2:] == (32, 32)
    raw = VOCSegmentation(tmp_path, image_set="train")   # unwrapped: (PIL image, PIL 'P' mask)
    _passes(pg.Contract(mask=pg.MaskSpec(num_classes=21, ignore_index=255)), raw[0])


def test_voc_detection_through_wrap_dataset_for_transforms_v2(tmp_path):
    from torchvision.datasets import VOCDetection, wrap_dataset_for_transforms_v2

    _voc(tmp_path)
    contract = pg.Contract(channels=3, size=(32, 32), boxes=pg.BoxSpec(num_classes=21))
    chain = v2.Compose([v2.ToImage(), v2.Resize((32, 32)), pg.Validate(contract)])
    ds = wrap_dataset_for_transforms_v2(VOCDetection(tmp_path, image_set="train", transforms=chain))
    image, target = ds[1]
    assert set(target) >= {"boxes", "labels"} and target["boxes"].canvas_size == (32, 32)
    image, target = wrap_dataset_for_transforms_v2(VOCDetection(tmp_path, image_set="train"))[0]
    assert target["boxes"].canvas_size == (48, 64)
    with pytest.raises(pg.ContractViolation) as info:   # the image resized alone
        pg.Validate(contract)(v2.Resize((32, 32))(image), target)
    assert info.value.reasons == [Reason.BOX_OUTSIDE]
    assert "has boxes on a 48×64 canvas where its image is 32×32" in str(info.value)
    resized = v2.Resize((32, 32))(image, target)   # the fix: one call on (image, target)
    assert pg.Validate(contract)(resized) is not None
    _passes(contract, resized)


def test_coco_style_target_with_instance_masks():
    # the structure wrap_dataset_for_transforms_v2 gives for CocoDetection with target_keys boxes, labels, masks
    boxes = tv_tensors.BoundingBoxes([[4, 4, 20, 20], [30, 10, 60, 40]], format="XYXY", canvas_size=(64, 64))
    masks = tv_tensors.Mask(torch.zeros(2, 64, 64, dtype=torch.uint8))
    target = {"image_id": 7, "boxes": boxes, "masks": masks, "labels": torch.tensor([1, 5])}
    contract = pg.Contract(channels=3, boxes=pg.BoxSpec(num_classes=91), mask=pg.MaskSpec())
    _passes(contract, (tv_tensors.Image(torch.zeros(3, 64, 64, dtype=torch.uint8)), target))
    out = v2.Compose([v2.RandomHorizontalFlip(1.0), pg.Validate(contract)])(
        tv_tensors.Image(torch.zeros(3, 64, 64, dtype=torch.uint8)), target)
    assert out[1]["masks"].shape == (2, 64, 64)
    small = dict(target, masks=tv_tensors.Mask(torch.zeros(2, 32, 32, dtype=torch.uint8)))
    assert [v.reason for v in contract.check((torch.zeros(3, 64, 64), small))] == [Reason.MASK_SIZE]


def test_validate_sees_a_dict_sample_and_a_missing_target():
    contract = pg.Contract(channels=3, mask=pg.MaskSpec(num_classes=21, ignore_index=255))
    sample = {"image": tv_tensors.Image(torch.zeros(3, 64, 64, dtype=torch.uint8)),
              "mask": tv_tensors.Mask(torch.from_numpy(_ids()))}
    assert pg.Validate(contract)(sample) is not None
    with pytest.raises(pg.ContractViolation) as info:
        pg.Validate(contract)(sample["image"])
    assert info.value.reasons == [Reason.TARGET_MISSING]
    with pytest.raises(pg.ContractViolation) as info:   # a PIL mask is not checked as a second image
        pg.Validate(contract)(_image(), Image.fromarray(_ids()).convert("RGB"))
    assert info.value.reasons == [Reason.MASK_CHANNELS]


def test_validate_with_target_rules_pickles_and_true_means_the_rules_without_numbers():
    v = pickle.loads(pickle.dumps(pg.Validate(SEG)))
    assert v.contract == SEG and pg.Contract(mask=True).mask == pg.MaskSpec()


def test_target_violations_pickle_with_their_diagnosis():
    err = _error(SEG, (_image(), torch.zeros(32, 32, dtype=torch.uint8)))
    back = pickle.loads(pickle.dumps(err))
    assert back.violations == err.violations and str(back) == str(err)
    assert back.diagnosis.best == err.diagnosis.best and back.reasons == [Reason.MASK_SIZE]


# --- where targets are not checked yet (later steps of issue 25), a contract with target rules is
# refused with one clear error, never checked as images that all lack their target

def test_image_only_checks_refuse_a_contract_with_target_rules(tmp_path):
    import subprocess
    import sys

    import pipeguard as pg
    from pipeguard.lightning import ContractCheck
    from pipeguard.testing import assert_conforms

    contract = pg.Contract(channels=3, size=(8, 8), mask=pg.MaskSpec(num_classes=21))
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    samples = [(torch.zeros(3, 8, 8), torch.zeros(1, 8, 8, dtype=torch.uint8))]
    for where, call in (("GuardedDataset", lambda: pg.GuardedDataset(samples, contract)),
                        ("GuardedDataset", lambda: pg.GuardedDataLoader(samples, contract=contract)),
                        ("assert_conforms", lambda: assert_conforms(samples, contract)),
                        ("pg.trace", lambda: pg.trace(torch.nn.Identity(), samples[0][0], contract)),
                        ("ContractCheck", lambda: ContractCheck(contract)),
                        ("pg.scan", lambda: pg.scan(tmp_path, contract=contract))):
        with pytest.raises(NotImplementedError, match=f"^{where} checks images only so far"):
            call()
    (tmp_path / "c.toml").write_text("channels = 3\n[mask]\nnum_classes = 21\n")
    done = subprocess.run([sys.executable, "-m", "pipeguard", "scan", str(tmp_path), "--contract",
                           str(tmp_path / "c.toml")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("Error: pg.scan checks images only so far")
    assert done.stderr.count("\n") == 1
    assert pg.GuardedDataset(samples, pg.Contract(channels=3)) is not None  # without target rules: as before
