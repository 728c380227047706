import copy
import pickle
from collections import namedtuple

import pytest
import torch
from imagefolder_support import (
    CHANNEL_PROBLEMS,
    SIDE,
    SIZE_PROBLEMS,
    UNREADABLE,
    build_tree,
    raw_loader,
)
from PIL import Image
from torch.utils.data import ConcatDataset, Dataset, IterableDataset, Subset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

import pipeguard as pg
from pipeguard import Reason

CONTRACT = pg.Contract(channels=3, size=(SIDE, SIDE), name="tiny")
TRANSFORM = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])


@pytest.fixture
def tree(tmp_path):
    return build_tree(tmp_path / "data")


@pytest.fixture
def folder(tree):
    return ImageFolder(tree.root, transform=TRANSFORM, loader=raw_loader)


class ListDataset(Dataset):
    """A non-folder map-style dataset: samples given as a list."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        item = self.items[i]
        if isinstance(item, Exception):
            raise item
        return item


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


# -- behaves like the wrapped dataset ------------------------------------------------

def test_len_and_attributes_pass_through(folder):
    ds = pg.GuardedDataset(folder, CONTRACT)
    assert len(ds) == len(folder) == 13
    assert ds.classes == ["a", "b"]
    assert ds.class_to_idx == {"a": 0, "b": 1}
    assert ds.samples is folder.samples and ds.targets is folder.targets
    assert ds.transform is TRANSFORM and ds.loader is raw_loader
    with pytest.raises(AttributeError):
        ds.no_such_attribute


def test_setting_a_wrapped_attribute_reaches_the_wrapped_dataset(folder):
    ds = pg.GuardedDataset(folder, CONTRACT)
    other = v2.Compose([v2.ToImage()])
    ds.transform = other
    assert folder.transform is other and ds.transform is other
    ds.note = "mine"            # not an attribute of the wrapped dataset: stays on the wrapper
    assert not hasattr(folder, "note") and ds.note == "mine"


@pytest.mark.parametrize("on_error", ["raise", "skip", "fix"])
def test_pickles_and_copies(folder, tree, on_error):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error=on_error)
    (ok,) = tree.indices(folder, ["ok_0.png"])
    for clone in (pickle.loads(pickle.dumps(ds)), copy.deepcopy(ds), copy.copy(ds)):
        assert type(clone) is pg.GuardedDataset
        assert clone.on_error == on_error and clone.contract == CONTRACT
        assert clone.classes == ["a", "b"] and len(clone) == len(ds)
        assert clone[ok][0].shape == (3, SIDE, SIDE)


def test_index_past_the_end_is_an_index_error(folder):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="skip")
    with pytest.raises(IndexError):
        ds[len(ds)]
    assert len(list(ds)) == len(ds)  # the sequence protocol stops at the IndexError


def test_a_negative_index_is_recorded_as_its_position(folder, tree):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="skip")
    (gray,) = tree.indices(folder, ["gray.png"])
    record = ds[gray - len(ds)]
    assert (record.index, record.source) == (gray, str(tree.path("gray.png")))


def test_bad_arguments():
    with pytest.raises(ValueError, match="on_error should be one of 'raise', 'skip', 'fix', but got 'ignore'"):
        pg.GuardedDataset([], CONTRACT, on_error="ignore")
    with pytest.raises(TypeError, match="contract should be a pipeguard.Contract"):
        pg.GuardedDataset([], {"channels": 3})
    with pytest.raises(TypeError, match="already guarded"):
        pg.GuardedDataset(pg.GuardedDataset([], CONTRACT), CONTRACT)
    with pytest.raises(ValueError, match="size_policy"):
        pg.GuardedDataset([], CONTRACT, size_policy="stretch")


# -- finding the image and the source -----------------------------------------------

GOOD = torch.zeros(3, SIDE, SIDE)
GRAY = torch.zeros(1, SIDE, SIDE)
Pair = namedtuple("Pair", "image label")


@pytest.mark.parametrize("make", [
    lambda img: img,
    lambda img: (img, 1),
    lambda img: [img, 1, "extra"],
    lambda img: Pair(img, 1),
    lambda img: {"image": img, "label": 1},
    lambda img: {"img": img, "label": 1},
    lambda img: {"pixel_values": img, "labels": 1},
], ids=["bare", "tuple", "list", "namedtuple", "image", "img", "pixel_values"])
def test_finds_the_image_in_every_sample_shape(make):
    ds = pg.GuardedDataset(ListDataset([make(GOOD), make(GRAY)]), CONTRACT, on_error="skip")
    assert ds[0] is not None and not isinstance(ds[0], pg.Skipped)
    record = ds[1]
    assert isinstance(record, pg.Skipped) and record.reason is Reason.CHANNELS and record.index == 1


def test_image_key_overrides_the_default_keys():
    ds = pg.GuardedDataset(ListDataset([{"image": GRAY, "photo": GOOD}]), CONTRACT, image_key="photo")
    assert ds[0]["photo"] is GOOD


def test_a_dict_without_an_image_key_is_a_type_violation():
    ds = pg.GuardedDataset(ListDataset([{"x": GOOD, "y": 1}]), CONTRACT)
    with pytest.raises(pg.ContractViolation) as info:
        ds[0]
    assert info.value.reasons == [Reason.TYPE]
    assert "none of the keys ['image', 'img', 'pixel_values'] (keys: 'x', 'y'); pass image_key=..." in str(info.value)


def test_source_through_subset_and_concat(folder, tree):
    gray = tree.indices(folder, ["gray.png"]).pop()
    wrapped = ConcatDataset([Subset(folder, [0, 1]), Subset(folder, [gray, 2])])
    ds = pg.GuardedDataset(wrapped, CONTRACT)
    with pytest.raises(pg.ContractViolation) as info:
        ds[2]
    assert info.value.index == 2
    assert info.value.source == str(tree.path("gray.png"))


def test_source_fn_hook():
    ds = pg.GuardedDataset(ListDataset([GOOD, GRAY]), CONTRACT, source_fn=lambda i: f"shard-7/{i:04d}.png")
    with pytest.raises(pg.ContractViolation) as info:
        ds[1]
    assert info.value.source == "shard-7/0001.png"
    assert str(info.value).startswith("sample 1 (shard-7/0001.png) does not meet contract 'tiny'")


def rgb_only(img):
    if img.mode != "RGB":
        raise ValueError(f"should be RGB, but got mode {img.mode!r}")
    return img


# -- raise -----------------------------------------------------------------------------

def test_raise_carries_index_source_numbers_and_diagnosis(folder, tree):
    ds = pg.GuardedDataset(folder, CONTRACT)
    (gray,) = tree.indices(folder, ["gray.png"])
    with pytest.raises(pg.ContractViolation) as info:
        ds[gray]
    err = info.value
    assert (err.index, err.source) == (gray, str(tree.path("gray.png")))
    assert err.expected == pg.Dims((3, SIDE, SIDE), 3 * SIDE * SIDE)
    assert err.actual == pg.Dims((1, SIDE, SIDE), SIDE * SIDE)
    assert err.reasons == [Reason.CHANNELS]
    assert "EnsureChannels(3)" in err.diagnosis.best.fix
    assert "(1/3 of expected)" in str(err)


@pytest.mark.parametrize("name, exc_type", [("truncated.jpg", "OSError"), ("empty.jpg", "UnidentifiedImageError"),
                                            ("not_image.jpg", "UnidentifiedImageError")])
def test_unreadable_files_are_violations(folder, tree, name, exc_type):
    ds = pg.GuardedDataset(folder, CONTRACT)
    (index,) = tree.indices(folder, [name])
    with pytest.raises(pg.ContractViolation) as info:
        ds[index]
    err = info.value
    assert (err.index, err.source, err.reasons) == (index, str(tree.path(name)), [Reason.UNREADABLE])
    assert f"the dataset raised {exc_type}" in str(err)
    assert err.stage == "decoding the file (ImageFolder.loader = raw_loader)"
    assert err.__cause__ is not None


def test_a_missing_file_is_unreadable(folder, tree):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="skip")
    (ok,) = tree.indices(folder, ["ok_0.png"])
    tree.path("ok_0.png").unlink()
    record = ds[ok]
    assert isinstance(record, pg.Skipped) and record.reason is Reason.UNREADABLE
    assert "FileNotFoundError" in record.message and record.source.endswith("ok_0.png")


def test_a_transform_that_raises_is_told_apart_from_the_file(tree):
    # A step that refuses the 1-channel image: the file itself is fine.
    tf = v2.Compose([v2.Lambda(rgb_only), v2.ToImage()])
    folder = ImageFolder(tree.root, transform=tf, loader=raw_loader)
    (gray,) = tree.indices(folder, ["gray.png"])
    with pytest.raises(pg.ContractViolation) as info:
        pg.GuardedDataset(folder, CONTRACT, trace_errors=False)[gray]
    assert info.value.reasons == [Reason.UNREADABLE]
    assert info.value.stage == "the transform (the file itself decodes)"
    assert "the dataset raised ValueError: should be RGB, but got mode 'L'" in str(info.value)


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_validate_in_the_transform_keeps_its_checks_and_numbers(tree, on_error):
    # pg.Validate inside the chain raises a ContractViolation: not an "unreadable" file.
    tf = v2.Compose([v2.ToImage(), pg.Validate(CONTRACT), v2.ToDtype(torch.float32, scale=True)])
    folder = ImageFolder(tree.root, transform=tf, loader=raw_loader)
    (gray,) = tree.indices(folder, ["gray.png"])
    ds = pg.GuardedDataset(folder, CONTRACT, on_error=on_error)
    if on_error == "raise":
        with pytest.raises(pg.ContractViolation) as info:
            ds[gray]
        err = info.value
    else:
        record = ds[gray]
        assert record.reason is Reason.CHANNELS
        err = record.violation
    assert (err.index, err.source) == (gray, str(tree.path("gray.png")))
    assert err.reasons == [Reason.CHANNELS]
    assert err.actual == pg.Dims((1, SIDE, SIDE), SIDE * SIDE)
    assert "Validate(" in err.stage


def test_non_folder_dataset_that_raises():
    ds = pg.GuardedDataset(ListDataset([GOOD, OSError("disk on fire")]), CONTRACT, on_error="skip")
    record = ds[1]
    assert record.reason is Reason.UNREADABLE and record.source is None
    assert record.message == "sample 1: unreadable: the dataset raised OSError: disk on fire"


# -- skip ------------------------------------------------------------------------------

def test_skip_returns_records_for_exactly_the_planted_files(folder, tree):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="skip")
    out = [ds[i] for i in range(len(ds))]
    skipped = {i for i, s in enumerate(out) if isinstance(s, pg.Skipped)}
    assert skipped == tree.indices(folder, CHANNEL_PROBLEMS + SIZE_PROBLEMS + UNREADABLE)
    assert [r.index for r in ds.skipped] == sorted(skipped)
    by_name = {r.source.rsplit("/", 1)[-1]: r.reason for r in ds.skipped}
    assert by_name == {"gray.png": Reason.CHANNELS, "rgba.png": Reason.CHANNELS, "cmyk.jpg": Reason.CHANNELS,
                       "small.png": Reason.SIZE, "truncated.jpg": Reason.UNREADABLE,
                       "empty.jpg": Reason.UNREADABLE, "not_image.jpg": Reason.UNREADABLE}
    for i, s in enumerate(out):
        if i not in skipped:
            assert s[0].shape == (3, SIDE, SIDE)


def test_skipped_record_pickles_with_its_violation(folder, tree):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="skip")
    record = ds[tree.indices(folder, ["rgba.png"]).pop()]
    back = pickle.loads(pickle.dumps(record))
    assert back == record or (back.index, back.source, back.reason) == (record.index, record.source, record.reason)
    assert back.violation.actual == pg.Dims((4, SIDE, SIDE), 4 * SIDE * SIDE)
    assert back.message == "sample {} ({}): channels: has 4 channels, not the 3 expected".format(
        record.index, tree.path("rgba.png"))
    assert back.with_epoch(3).epoch == 3 and back.epoch is None


def test_default_loader_converts_so_only_unreadable_files_fail(tree):
    ds = pg.GuardedDataset(ImageFolder(tree.root, transform=TRANSFORM), CONTRACT, on_error="skip")
    skipped = {i for i in range(len(ds)) if isinstance(ds[i], pg.Skipped)}
    assert skipped == tree.indices(ds, UNREADABLE + SIZE_PROBLEMS)


# -- fix -------------------------------------------------------------------------------

def test_fix_converts_before_the_transform_and_keeps_colours(folder, tree):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="fix")
    out = [ds[i] for i in range(len(ds))]
    skipped = {i for i, s in enumerate(out) if isinstance(s, pg.Skipped)}
    assert skipped == tree.indices(folder, UNREADABLE)
    assert {r.reason for r in ds.skipped} == {Reason.UNREADABLE}
    for i, s in enumerate(out):
        if i not in skipped:
            assert s[0].shape == (3, SIDE, SIDE) and s[0].dtype == torch.float32
            assert s[1] == folder.targets[i]
    assert ds.fixed == len(CHANNEL_PROBLEMS + SIZE_PROBLEMS)
    assert ds.fixed_by_reason == {Reason.CHANNELS: 3, Reason.SIZE: 1}
    # CMYK converted as a PIL image (Pillow's CMYK -> RGB), not by dropping a tensor channel
    (cmyk,) = tree.indices(folder, ["cmyk.jpg"])
    expected = TRANSFORM(Image.open(tree.path("cmyk.jpg")).convert("RGB"))
    torch.testing.assert_close(out[cmyk][0], expected)
    (gray,) = tree.indices(folder, ["gray.png"])
    g = out[gray][0]
    torch.testing.assert_close(g[0], g[1])
    torch.testing.assert_close(g[1], g[2])


def test_fix_size_policy_raise_skips_size_problems(folder, tree):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="fix", size_policy="raise")
    skipped = {i for i in range(len(ds)) if isinstance(ds[i], pg.Skipped)}
    assert skipped == tree.indices(folder, UNREADABLE + SIZE_PROBLEMS)
    assert ds.fixed == len(CHANNEL_PROBLEMS)


def test_fix_converts_the_output_tensor_when_there_is_no_loader():
    items = [(GOOD, 0), (torch.rand(1, SIDE, SIDE), 1), (torch.rand(3, 8, 8), 2), (GOOD.double()[:, :4], 3)]
    ds = pg.GuardedDataset(ListDataset(items), pg.Contract(channels=3, size=(SIDE, SIDE)), on_error="fix")
    out = [ds[i] for i in range(len(ds))]
    assert out[0][0] is GOOD
    gray, label = out[1]
    assert gray.shape == (3, SIDE, SIDE) and label == 1
    torch.testing.assert_close(gray[0], items[1][0][0])
    assert out[2][0].shape == (3, SIDE, SIDE)
    assert out[3][0].shape == (3, SIDE, SIDE) and out[3][0].dtype == torch.float64
    assert ds.fixed == 3 and ds.fixed_by_reason == {Reason.CHANNELS: 1, Reason.SIZE: 2}


def test_fix_leaves_unfixable_reasons_skipped():
    contract = pg.Contract(channels=3, size=(SIDE, SIDE), dtype="float32")
    ds = pg.GuardedDataset(ListDataset([torch.zeros(3, SIDE, SIDE, dtype=torch.uint8)]), contract, on_error="fix")
    record = ds[0]
    assert isinstance(record, pg.Skipped) and record.reason is Reason.DTYPE
    assert ds.fixed == 0


# -- iterable datasets -------------------------------------------------------------------

def test_iterable_dataset_is_guarded_in_order():
    ds = pg.GuardedDataset(Stream([GOOD, GRAY, GOOD]), CONTRACT, on_error="skip")
    assert isinstance(ds, IterableDataset)
    out = list(ds)
    assert out[0] is GOOD and out[2] is GOOD
    assert isinstance(out[1], pg.Skipped) and out[1].index == 1
    clone = pickle.loads(pickle.dumps(ds))
    assert type(clone) is type(ds) and len(list(clone)) == 3
    with pytest.raises(TypeError, match="iterable dataset"):
        ds[0]


def test_iterable_dataset_raise():
    with pytest.raises(pg.ContractViolation) as info:
        list(pg.GuardedDataset(Stream([GOOD, GOOD, GRAY]), CONTRACT))
    assert info.value.index == 2


# -- the trace of a failing sample ------------------------------------------------------------

def test_raise_traces_the_sample_through_the_transform_to_the_breaking_step(tree):
    tf = v2.Compose([v2.ToImage(), v2.Grayscale(), v2.ToDtype(torch.float32, scale=True)])
    folder = ImageFolder(tree.root, transform=tf, loader=raw_loader)
    (ok,) = tree.indices(folder, ["ok_0.png"])
    with pytest.raises(pg.ContractViolation) as info:
        pg.GuardedDataset(folder, CONTRACT)[ok]
    stage = info.value.stage.splitlines()
    assert stage[0] == ("after step 1 of the transform: Grayscale(num_output_channels=1); "
                        "the file traced through the transform:")
    assert [line.split()[0] for line in stage[1:5]] == ["step", "input", "0", "1"]
    assert "  stage     after step 1 of the transform: Grayscale" in str(info.value)
    # skip records do not pay for a trace
    record = pg.GuardedDataset(folder, CONTRACT, on_error="skip")[ok]
    assert record.violation.stage is None


def test_trace_errors_false_leaves_the_stage_empty(folder, tree):
    with pytest.raises(pg.ContractViolation) as info:
        pg.GuardedDataset(folder, CONTRACT, trace_errors=False)[tree.indices(folder, ["gray.png"]).pop()]
    assert info.value.stage is None


class PathList(ListDataset):
    """Lists bare paths in ``samples`` (no targets): the source is known, the sample is not rebuilt."""

    def __init__(self, items, paths):
        super().__init__(items)
        self.samples = paths
        self.loader = raw_loader


def test_source_from_a_list_of_bare_paths():
    ds = pg.GuardedDataset(PathList([GOOD, (GRAY, 1)], ["x/0.png", "x/1.png"]), CONTRACT, on_error="fix")
    assert ds.dataset.samples[1] == "x/1.png"
    image, label = ds[1]  # fixed on the output: re-loading cannot rebuild a sample without its target
    assert image.shape == (3, SIDE, SIDE) and label == 1
    with pytest.raises(pg.ContractViolation) as info:
        pg.GuardedDataset(PathList([GOOD, GRAY], ["x/0.png", "x/1.png"]), CONTRACT)[1]
    assert info.value.source == "x/1.png"
