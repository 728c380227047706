import functools
import logging
import pickle
import warnings

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
from torch.utils.data import DataLoader, DistributedSampler, default_collate
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

import pipeguard as pg
from pipeguard import Reason

CONTRACT = pg.Contract(channels=3, size=(SIDE, SIDE), name="tiny")
TRANSFORM = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
PLANTED = CHANNEL_PROBLEMS + SIZE_PROBLEMS + UNREADABLE
SKIPPED_BY = {"skip": PLANTED, "fix": UNREADABLE}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return build_tree(tmp_path_factory.mktemp("loader") / "data")


@pytest.fixture
def folder(tree):
    return ImageFolder(tree.root, transform=TRANSFORM, loader=raw_loader)


def _epoch(loader):
    """Every batch of one epoch: (number of images, targets seen)."""
    count, targets = 0, []
    for images, labels in loader:
        assert isinstance(images, torch.Tensor) and images.shape[1:] == (3, SIDE, SIDE)
        assert images.dtype == torch.float32 and len(labels) == len(images)
        count += len(images)
        targets += labels.tolist()
    return count, targets


# -- the acceptance matrix: every policy, 0 and 2 workers, shuffle on and off ----------------

@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("policy", ["skip", "fix"])
def test_nothing_is_lost(folder, tree, policy, num_workers):
    planted = tree.indices(folder, SKIPPED_BY[policy])
    for shuffle in (False, True):
        loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error=policy), batch_size=4,
                                      shuffle=shuffle, num_workers=num_workers,
                                      persistent_workers=shuffle and num_workers > 0)
        for epoch in (0, 1):
            count, targets = _epoch(loader)
            this_epoch = [r for r in loader.skipped if r.epoch == epoch]
            assert count + len(this_epoch) == len(folder)
            assert {r.index for r in this_epoch} == planted
            assert sorted(targets) == sorted(t for i, t in enumerate(folder.targets) if i not in planted)
        assert len(loader.skipped) == 2 * len(planted)
        for record in loader.skipped:
            assert record.source == folder.samples[record.index][0]
            assert isinstance(record.violation, pg.ContractViolation) and record.violation.index == record.index
        report = loader.report()
        assert (report.epochs, report.samples, report.skipped) == (2, 2 * (len(folder) - len(planted)),
                                                                  2 * len(planted))
        if policy == "fix":
            assert report.fixed == 2 * len(CHANNEL_PROBLEMS + SIZE_PROBLEMS)
            assert report.fixed_by_reason == {"channels": 6, "size": 2}
            assert report.skipped_by_reason == {"unreadable": 6}
        else:
            assert report.fixed == 0
            assert report.skipped_by_reason == {"channels": 6, "unreadable": 6, "size": 2}


@pytest.mark.parametrize("num_workers", [0, 2])
def test_raise_names_the_planted_file_with_every_field(folder, tree, num_workers):
    planted = tree.indices(folder, PLANTED)
    for shuffle in (False, True):
        loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT), batch_size=4, shuffle=shuffle,
                                      num_workers=num_workers)
        with pytest.raises(pg.ContractViolation) as info:
            _epoch(loader)
        err = info.value
        assert type(err) is pg.ContractViolation
        assert err.index in planted and err.source == folder.samples[err.index][0]
        assert err.violations and err.contract_name == "tiny"
        if not shuffle:  # sampler order: the first planted file is the one raised
            assert err.index == min(planted)
            assert err.source == str(tree.path("cmyk.jpg"))
            assert err.actual == pg.Dims((4, SIDE, SIDE), 4 * SIDE * SIDE)
            assert err.diagnosis.best.kind == "channels"
            assert err.stage.startswith("the file as loaded (mode 'CMYK', [4, 16, 16])")
        assert not loader.skipped


# -- DataLoader arguments -------------------------------------------------------------------

def test_wraps_a_plain_dataset_given_a_contract(folder, tree):
    loader = pg.GuardedDataLoader(folder, batch_size=5, contract=CONTRACT, on_error="skip")
    assert isinstance(loader.dataset, pg.GuardedDataset) and loader.dataset.dataset is folder
    count, _ = _epoch(loader)
    assert count + len(loader.skipped) == len(folder)
    with pytest.raises(TypeError, match="GuardedDataset or contract"):
        pg.GuardedDataLoader(folder)
    with pytest.raises(TypeError, match="set those on the GuardedDataset"):
        pg.GuardedDataLoader(loader.dataset, contract=CONTRACT)


def test_distributed_sampler_shards_cover_the_dataset(folder, tree):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="skip")
    seen, skipped = [], []
    for rank in (0, 1):
        sampler = DistributedSampler(ds, num_replicas=2, rank=rank, shuffle=True, seed=3)
        sampler.set_epoch(0)
        loader = pg.GuardedDataLoader(ds, batch_size=3, sampler=sampler)
        seen += _epoch(loader)[1]
        skipped += [r.index for r in loader.skipped]
    # 13 samples over 2 ranks: DistributedSampler pads one index to 14
    assert len(seen) + len(skipped) == 14
    assert set(skipped) == tree.indices(folder, PLANTED)


def test_pin_memory_prefetch_and_worker_init(folder, tree):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="skip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no accelerator": pinning is then a no-op
        loader = pg.GuardedDataLoader(ds, batch_size=4, num_workers=2, pin_memory=True, prefetch_factor=3,
                                      worker_init_fn=_seed_worker, drop_last=True)
        count, _ = _epoch(loader)
    # drop_last drops the last *index* batch (13 = 3 × 4 + 1); skipping can shrink batches further
    assert count + len(loader.skipped) == 12


def _seed_worker(worker_id):
    torch.manual_seed(worker_id)


def test_batch_size_none_yields_single_samples(folder, tree):
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error="skip"), batch_size=None)
    out = list(loader)
    assert all(img.shape == (3, SIDE, SIDE) for img, _ in out)
    assert len(out) + len(loader.skipped) == len(folder)


def test_user_collate_runs_on_kept_samples_only(folder):
    calls = []

    def as_dict(samples):
        assert not any(isinstance(s, pg.Skipped) for s in samples)
        calls.append(len(samples))
        images, labels = default_collate(samples)
        return {"image": images, "label": labels}

    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error="skip"), batch_size=4,
                                  collate_fn=as_dict)
    batches = list(loader)
    assert all(set(b) == {"image", "label"} for b in batches)
    assert sum(calls) + len(loader.skipped) == len(folder)


def test_a_batch_whose_every_sample_is_skipped_is_not_yielded(folder, tree):
    from pipeguard.data import SkippedSamplesWarning

    planted = sorted(tree.indices(folder, PLANTED))
    (ok,) = tree.indices(folder, ["ok_0.png"])
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error="skip"), batch_size=2,
                                  sampler=planted[:4] + [ok])
    with pytest.warns(SkippedSamplesWarning, match="1 sample yielded, 4 skipped"):
        batches = list(loader)
    assert len(batches) == 1 and len(batches[0][0]) == 1 and len(loader.skipped) == 4  # two batches all skipped


# -- the batch check ----------------------------------------------------------------------------

def _channels_last(samples):
    images, labels = default_collate(samples)
    return images.permute(0, 2, 3, 1), labels


def _flatten(samples):
    images, labels = default_collate(samples)
    return images.flatten(1), labels


def _unsqueezed(samples):
    images, labels = default_collate(samples)
    return images.unsqueeze(1), labels


def _concatenated(samples):
    # torch.cat where torch.stack was meant: shape[0] is no longer the sample count
    return torch.cat([image for image, _ in samples]), torch.tensor([label for _, label in samples])


def _collate_violation(folder, tree, contract, collate_fn):
    """The violation a loader over the four conforming samples raises, with ``collate_fn``."""
    ok = sorted(tree.indices(folder, ["ok_0.png", "ok_1.png", "ok_2.jpg", "ok_3.png"]))
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, contract, on_error="skip"), batch_size=4,
                                  sampler=ok, collate_fn=collate_fn)
    with pytest.raises(pg.ContractViolation) as info:
        list(loader)
    return info.value


@pytest.mark.parametrize("collate_fn, reason, text", [
    (_concatenated, Reason.RANK, "is [12, 16, 16] (3 dimensions), not an [N, C, H, W] batch"),
    (_channels_last, Reason.LAYOUT, "channels-last NHWC tensor [4, 16, 16, 3]"),
    (_flatten, Reason.RANK, "is [4, 768] (2 dimensions), not an [N, C, H, W] batch of [3, 16, 16]"),
    (_unsqueezed, Reason.RANK, "is [4, 1, 3, 16, 16] (5 dimensions), not an [N, C, H, W] batch"),
])
def test_a_collate_that_breaks_the_batch_is_caught(folder, tree, collate_fn, reason, text):
    err = _collate_violation(folder, tree, CONTRACT, collate_fn)
    assert err.stage == "collate" and err.reasons[0] is reason and err.index is None
    assert str(err).startswith("the batch of 4 samples does not meet contract 'tiny'")
    assert text in str(err)
    assert err.expected == pg.Dims((4, 3, SIDE, SIDE), 4 * 3 * SIDE * SIDE)
    ok = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error="skip"), batch_size=4,
                              collate_fn=collate_fn, check_batch=False)
    assert len(list(ok)) > 0


def test_flat_contract_checks_elements_per_row(folder, tree):
    flat_ok = pg.Contract(numel=3 * SIDE * SIDE)
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, flat_ok, on_error="skip"), batch_size=4,
                                  collate_fn=_flatten)
    assert all(images.shape[1:] == (768,) for images, _ in loader)
    too_long = pg.Contract(numel=3 * SIDE * SIDE)  # per sample [3, 16, 16]; the collate doubles each row

    def doubled(samples):
        images, labels = _flatten(samples)
        return torch.cat([images, images], 1), labels

    err = _collate_violation(folder, tree, too_long, doubled)
    assert err.reasons == [Reason.NUMEL] and err.stage == "collate"
    assert "is [4, 1536]: 1,536 elements per row, not the 768 expected" in str(err)
    assert err.diagnosis.best is not None


def test_samples_that_cannot_be_stacked_are_a_collate_violation(folder, tree):
    channels_only = pg.Contract(channels=3)  # size open: the 12×10 image passes the sample check
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, channels_only, on_error="skip"), batch_size=20)
    with pytest.raises(pg.ContractViolation) as info:
        list(loader)
    err = info.value
    assert err.reasons == [Reason.COLLATE] and err.stage == "collate"
    assert "could not be collated (RuntimeError: stack expects each tensor to be equal size" in str(err)
    assert "the 7 samples have shapes [3, 16, 16] ×6, [3, 12, 10] ×1" in str(err)
    assert str(err).startswith("the batch of 7 samples does not meet contract")


# -- limits, logging, report ---------------------------------------------------------------------

def test_max_skip_fraction_turns_mass_skipping_into_an_error(folder, tree):
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error="skip"), batch_size=1,
                                  max_skip_fraction=0.25)
    with pytest.raises(pg.ContractViolation) as info:
        list(loader)
    text = str(info.value)
    # 13 samples: 0.25 allows 3; the 4th skip already makes that impossible
    assert text.startswith("GuardedDataLoader skipped 4 of 13 samples in epoch 0 (30.8%), "
                           "more than max_skip_fraction=0.25 allows (3 of 13)")
    assert "  by reason  " in text and "  skipped    sample 0 (" in text
    assert info.value.stage == "loader" and info.value.violations
    lenient = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error="skip"), batch_size=4,
                                   max_skip_fraction=0.6)
    assert _epoch(lenient)[0] == len(folder) - len(PLANTED)


def test_max_skips_counts_across_epochs(folder):
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error="skip"), batch_size=1,
                                  max_skips=10)
    _epoch(loader)
    with pytest.raises(pg.ContractViolation, match=r"skipped 11 samples so far \(epoch 1\), more than max_skips=10"):
        _epoch(loader)
    with pytest.raises(ValueError, match="max_skip_fraction should be between 0 and 1"):
        pg.GuardedDataLoader(folder, contract=CONTRACT, max_skip_fraction=2)


def test_logs_one_warning_per_source_and_a_summary_per_epoch(folder, caplog):
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error="skip"), batch_size=4)
    with caplog.at_level(logging.INFO, logger="pipeguard"):
        _epoch(loader)
        _epoch(loader)
    messages = [r.getMessage() for r in caplog.records if r.name == "pipeguard.loader"]
    per_file = [m for m in messages if m.startswith("skipped sample")]
    assert len(per_file) == len(PLANTED)  # the second epoch does not repeat them
    summaries = [m for m in messages if m.startswith("epoch")]
    assert summaries == ["epoch 0: 6 samples yielded, 7 skipped (channels 3, unreadable 3, size 1), 0 fixed",
                         "epoch 1: 6 samples yielded, 7 skipped (channels 3, unreadable 3, size 1), 0 fixed"]


def test_report_text(folder):
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error="fix"), batch_size=4)
    _epoch(loader)
    lines = str(loader.report()).splitlines()
    assert lines[0] == "1 epoch: 10 samples yielded, 3 skipped, 4 fixed"
    assert lines[1].split() == ["skipped", "unreadable", "3"]
    assert lines[2].split() == ["fixed", "channels", "3,", "size", "1"]
    assert lines[3].startswith("  files   ") and "truncated.jpg" in lines[3]
    assert loader.report().to_dict()["fixed_by_reason"] == {"channels": 3, "size": 1}


# -- a plain DataLoader with pg.collate -----------------------------------------------------------

@pytest.mark.parametrize("num_workers", [0, 2])
def test_plain_dataloader_with_pg_collate(folder, tree, num_workers):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="skip")
    loader = DataLoader(ds, batch_size=4, num_workers=num_workers, collate_fn=pg.collate)
    batches = list(loader)
    assert batches[-1] is None  # the last batch is the truncated JPEG alone
    count = sum(len(images) for images, _ in batches[:-1])
    assert count == len(folder) - len(PLANTED)
    if num_workers == 0:  # records stay in this process's dataset
        assert {r.index for r in ds.skipped} == tree.indices(folder, PLANTED)


def test_pg_collate_with_a_user_collate_and_an_all_skipped_batch(folder, tree):
    ds = pg.GuardedDataset(folder, CONTRACT, on_error="skip")
    planted = sorted(tree.indices(folder, PLANTED))
    collate = functools.partial(pg.collate, collate_fn=lambda s: len(s))
    assert list(DataLoader(ds, batch_size=13, collate_fn=collate)) == [len(folder) - len(PLANTED)]
    assert list(DataLoader(ds, batch_size=2, sampler=planted[:2], collate_fn=pg.collate)) == [None]


def test_plain_dataloader_raise_still_raises_a_contract_violation_from_workers(folder):
    batches = iter(DataLoader(pg.GuardedDataset(folder, CONTRACT), batch_size=4, num_workers=2))
    try:
        with pytest.raises(pg.ContractViolation, match="cmyk.jpg") as info:
            list(batches)
    finally:
        batches._shutdown_workers()  # else PyTorch waits 10 s on them when the traceback is collected
    assert info.value.index is None  # text only: PyTorch rebuilt it from the message


def test_envelope_survives_pickling_and_loader_skipped_records_pickle(folder):
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT, on_error="skip"), batch_size=4)
    _epoch(loader)
    back = pickle.loads(pickle.dumps(loader.skipped))
    assert [(r.index, r.epoch, r.reason) for r in back] == [(r.index, r.epoch, r.reason) for r in loader.skipped]


class _Stream(torch.utils.data.IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


def test_iterable_dataset_through_the_loader():
    good, gray = torch.zeros(3, SIDE, SIDE), torch.zeros(1, SIDE, SIDE)
    ds = pg.GuardedDataset(_Stream([(good, 0), (gray, 1), (good, 2)]), CONTRACT, on_error="skip")
    loader = pg.GuardedDataLoader(ds, batch_size=2)
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0], [2]]
    assert [r.index for r in loader.skipped] == [1]


class _BrokenStream(torch.utils.data.IterableDataset):
    """Yields two good samples, then its iterator raises (a corrupt shard, a lost connection)."""

    def __iter__(self):
        yield torch.zeros(3, SIDE, SIDE), 0
        yield torch.zeros(3, SIDE, SIDE), 1
        raise OSError("shard 7 is corrupt")


@pytest.mark.parametrize("num_workers", [0, 1])
@pytest.mark.parametrize("batch_size", [2, None])
def test_an_iterable_stream_that_breaks_raises_with_every_field(num_workers, batch_size):
    # In a worker the failure must travel as data: PyTorch's re-raise would drop the fields.
    ds = pg.GuardedDataset(_BrokenStream(), CONTRACT, on_error="skip")
    loader = pg.GuardedDataLoader(ds, batch_size=batch_size, num_workers=num_workers)
    with pytest.raises(pg.ContractViolation) as info:
        list(loader)
    err = info.value
    assert (err.index, err.reasons, err.stage) == (2, [Reason.UNREADABLE], "iterating the wrapped dataset")
    assert "OSError: shard 7 is corrupt" in str(err) and "DataLoader worker" not in str(err)
    assert not loader.skipped


def test_persistent_workers_restart_after_a_raise(folder, tree):
    loader = pg.GuardedDataLoader(pg.GuardedDataset(folder, CONTRACT), batch_size=4, num_workers=2,
                                  persistent_workers=True)
    for epoch in (0, 1):  # the raise shut the workers down; the next epoch starts new ones
        with pytest.raises(pg.ContractViolation) as info:
            _epoch(loader)
        assert info.value.source == str(tree.path("cmyk.jpg"))
        assert loader.epoch == epoch


def _fake(on_error):
    from torchvision.datasets import FakeData
    from torchvision.transforms import ToTensor

    data = FakeData(size=10, image_size=(1, 32, 32), transform=ToTensor())
    return pg.GuardedDataset(data, pg.Contract(numel=50176), on_error=on_error)


@pytest.mark.parametrize("on_error", ["skip", "fix"])
def test_an_epoch_that_skips_every_sample_raises_with_the_count_and_the_reasons(on_error):
    """It yielded zero batches and ended quietly; a fix mode that cannot fix skips them all too."""
    loader = pg.GuardedDataLoader(_fake(on_error), batch_size=4)
    with pytest.raises(pg.ContractViolation) as caught:
        list(loader)
    text = str(caught.value)
    assert text.startswith("GuardedDataLoader skipped every sample of epoch 0 (10 of 10): no batch was yielded")
    assert "by reason  numel 10" in text and "the contract or the transform is usually wrong" in text
    assert len(loader.skipped) == 10


def test_skipped_samples_are_a_warning_per_epoch_without_any_logging_set_up(tmp_path):
    import warnings

    from pipeguard.data import SkippedSamplesWarning

    class Mixed(torch.utils.data.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return torch.zeros(3 if i % 3 else 1, 8, 8)

    loader = pg.GuardedDataLoader(pg.GuardedDataset(Mixed(), pg.Contract(channels=3, size=(8, 8)), on_error="skip"),
                                  batch_size=2)
    for epoch in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")  # Python's default: a UserWarning is shown
            batches = list(loader)
        assert sum(len(b) for b in batches) == 4
        shown = [w for w in caught if issubclass(w.category, SkippedSamplesWarning)]
        assert len(shown) == 1 and shown[0].filename == __file__  # points at the user's loop
        assert str(shown[0].message) == (f"GuardedDataLoader epoch {epoch}: 4 samples yielded, 2 skipped "
                                         "(channels 2), 0 fixed: see loader.skipped")


def test_mass_skipping_of_unreadable_files_says_so_not_that_the_contract_is_wrong(tmp_path):
    from torchvision.datasets import ImageFolder

    (tmp_path / "c").mkdir()
    for i in range(4):
        (tmp_path / "c" / f"{i}.png").write_bytes(b"not a png")
    ds = pg.GuardedDataset(ImageFolder(tmp_path), pg.Contract(channels=3), on_error="skip")
    with pytest.raises(pg.ContractViolation) as caught:
        list(pg.GuardedDataLoader(ds, batch_size=2))
    text = str(caught.value)
    assert "by reason  unreadable 4" in text and "a file that could not be read" in text
    assert "the contract or the transform is usually wrong" not in text


def test_mass_skipping_of_mixed_causes_says_how_many_of_each(tmp_path):
    """Two unreadable files and two images of the wrong size: the fix names each cause with its count."""
    from PIL import Image
    from torchvision.datasets import ImageFolder

    (tmp_path / "c").mkdir()
    for i in range(2):
        (tmp_path / "c" / f"bad{i}.png").write_bytes(b"not a png")
        Image.new("RGB", (8, 8)).save(tmp_path / "c" / f"small{i}.png")
    ds = pg.GuardedDataset(ImageFolder(tmp_path), pg.Contract(channels=3, size=(16, 16)), on_error="skip")
    with pytest.raises(pg.ContractViolation) as caught:
        list(pg.GuardedDataLoader(ds, batch_size=2))
    fix = next(line for line in str(caught.value).splitlines() if line.startswith("  fix"))
    assert "2 files could not be read (check the files" in fix
    assert "2 samples failed the contract (when many samples fail the same way" in fix
    # Pillow names the file by its reader's repr: the message names the file instead
    assert "<_io." not in str(caught.value) and "cannot identify image file '" in str(caught.value)


def test_persistent_workers_hand_their_skipped_records_over_and_keep_none():
    """Each persistent worker kept every Skipped record it ever made (15, 31, 47 over three epochs)."""
    class Watched(torch.utils.data.Dataset):
        """Odd samples are gray; each good sample's label is how many records the worker's copy holds."""

        guard = None

        def __len__(self):
            return 8

        def __getitem__(self, i):
            return torch.zeros(1 if i % 2 else 3, 4, 4), len(self.guard.skipped)

    inner = Watched()
    ds = pg.GuardedDataset(inner, pg.Contract(channels=3, size=(4, 4)), on_error="skip")
    inner.guard = ds  # pickled with it: in a worker, the worker's own copy
    loader = pg.GuardedDataLoader(ds, batch_size=2, num_workers=1, persistent_workers=True)
    held = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the per-epoch summary
        for _ in range(3):
            held += [int(n) for _, labels in loader for n in labels]
    assert held and max(held) == 0 and len(loader.skipped) == 12
