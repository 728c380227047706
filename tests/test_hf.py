"""Hugging Face ``datasets``: ``pg.scan(hf_dataset)`` and ``pg.GuardedDataset(hf_dataset, contract)``."""

import io

import pytest
import torch
from conftest import make_image
from PIL import Image
from torchvision.transforms import v2

import pipeguard as pg

datasets = pytest.importorskip("datasets", reason="pipeguard[hf] is not installed")

SIDE = 8
CONTRACT = pg.Contract(channels=3, size=(SIDE, SIDE))
MODES = ("RGB", "L", "RGBA")


def png(mode, size=(SIDE, SIDE)):
    buf = io.BytesIO()
    make_image(mode, size).save(buf, "PNG")
    return buf.getvalue()


def features():
    return datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["a", "b", "c"])})


@pytest.fixture(scope="module")
def clean():
    """RGB, L and RGBA examples: the first and last keep a file path, the L one bytes only."""
    images = [{"bytes": png("RGB"), "path": "train/rgb.png"}, {"bytes": png("L"), "path": None},
              {"bytes": png("RGBA"), "path": "train/rgba.png"}]
    return datasets.Dataset.from_dict({"image": images, "label": [0, 1, 2]}, features=features())


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Beyond ``clean``: a truncated PNG, an empty image, a missing one, and one stored as a path only."""
    on_disk = tmp_path_factory.mktemp("hf") / "gray.png"
    on_disk.write_bytes(png("L"))
    full = png("RGB", (16, 16))
    images = [{"bytes": png("RGB"), "path": "train/rgb.png"}, {"bytes": png("L"), "path": None},
              {"bytes": png("RGBA"), "path": "train/rgba.png"}, {"bytes": full[: len(full) * 2 // 3], "path": None},
              {"bytes": b"", "path": "empty.png"}, None, {"bytes": None, "path": str(on_disk)}]
    return datasets.Dataset.from_dict({"image": images, "label": [0, 1, 2, 0, 1, 2, 0]}, features=features())


def test_scan_gives_one_row_per_example_from_the_stored_headers(mixed):
    report = pg.scan(mixed, contract=CONTRACT)
    rows = list(report.rows())
    on_disk = mixed.with_format("arrow")[6].column("image")[0].as_py()["path"]
    assert [r["path"] for r in rows] == ["train/rgb.png", "#1", "train/rgba.png", "#3", "empty.png", "#5", on_disk]
    assert [r["status"] for r in rows] == ["ok", "violation", "violation", "unreadable", "unreadable",
                                           "unreadable", "violation"]
    assert [r["mode"] for r in rows] == ["RGB", "L", "RGBA", "RGB", None, None, "L"]
    assert [r["channels"] for r in rows[:3]] == [3, 1, 4]
    assert [r["class"] for r in rows] == ["a", "b", "c", "a", "b", "c", "a"]
    assert rows[1]["violations"] == ["channels: has 1 channel (mode 'L'), not the 3 expected"]
    assert rows[1]["fix"] == "EnsureChannels(3)" and rows[1]["bytes"] == len(png("L"))
    assert rows[3]["error"].startswith("truncated: no PNG IEND chunk")
    assert rows[4]["error"] == "empty file (0 bytes)" and rows[5]["error"].startswith("no image stored")
    assert report.exit_code == 1 and report.summary()["status"] == {
        "ok": 1, "violation": 3, "unreadable": 3, "not-image": 0}
    assert set(report.violations["path"]) == {"#1", "train/rgba.png", on_disk}


def test_scan_rows_match_a_folder_scan_of_the_same_files(mixed, tmp_path):
    stored = mixed.with_format("arrow")["image"].to_pylist()
    for i, value in enumerate(stored[:5]):
        (tmp_path / f"{i}.png").write_bytes(value["bytes"])
    folder = list(pg.scan(tmp_path, contract=CONTRACT).rows())
    hf = list(pg.scan(mixed.select(range(5)), contract=CONTRACT).rows())
    same = ("status", "format", "mode", "channels", "height", "width", "bytes", "error", "violations", "fix",
            "n_frames", "warnings")
    assert [{k: r[k] for k in same} for r in hf] == [{k: r[k] for k in same} for r in folder]


def test_scan_infers_the_contract_and_follows_selections(clean):
    report = pg.scan(clean.select([2, 0]))
    assert [r["path"] for r in report.rows()] == ["train/rgba.png", "train/rgb.png"]
    assert report.contract is not None and report.contract.size == (SIDE, SIDE)
    assert report.contract_source == "inferred" and report.contract.channels is None


def test_scan_refuses_what_it_cannot_read(clean):
    with pytest.raises(TypeError, match=r"pg.scan\(ds\['train'\]\)"):
        pg.scan(datasets.DatasetDict({"train": clean}))
    with pytest.raises(TypeError, match="no datasets.Image column"):
        pg.scan(datasets.Dataset.from_dict({"text": ["a"]}))


def to_pixels(batch):
    tf = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    return {"pixel_values": [tf(im) for im in batch["image"]], "label": batch["label"]}


VIEWS = {
    "plain": (lambda ds: ds, "image"),
    "with_transform": (lambda ds: ds.with_transform(to_pixels), "pixel_values"),
    "torch": (lambda ds: ds.with_format("torch"), "image"),
}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_raise_names_the_example_and_its_stored_file(clean, view):
    make, key = VIEWS[view]
    ds = pg.GuardedDataset(make(clean), CONTRACT)
    assert pg.inspect(ds[0][key]).channels == 3
    with pytest.raises(pg.ContractViolation) as caught:
        ds[2]
    err = caught.value
    assert err.index == 2 and err.source == "train/rgba.png" and err.actual.shape[0] == 4
    assert "fix       add pipeguard.EnsureChannels(3)" in str(err)
    with pytest.raises(pg.ContractViolation) as caught:
        ds[1]
    assert caught.value.source is None and caught.value.actual.shape[0] == 1  # bytes only: no file to name


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_skip_returns_records_for_the_l_and_rgba_examples(clean, view):
    make, key = VIEWS[view]
    ds = pg.GuardedDataset(make(clean), CONTRACT, on_error="skip")
    out = [ds[i] for i in range(len(ds))]
    assert not isinstance(out[0], pg.Skipped)
    assert [type(o) is pg.Skipped for o in out] == [False, True, True]
    assert [(s.index, s.source) for s in ds.skipped] == [(1, None), (2, "train/rgba.png")]


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_fix_gives_three_channels_in_the_right_colours(clean, view):
    make, key = VIEWS[view]
    ds = pg.GuardedDataset(make(clean), CONTRACT, on_error="fix")
    out = [ds[i][key] for i in range(len(ds))]
    assert all(CONTRACT.check(image) == [] for image in out)
    assert ds.fixed == 2
    as_tensor = [v2.functional.pil_to_tensor(o) if isinstance(o, Image.Image) else o for o in out]
    rgb = [t.float() / 255 if t.dtype == torch.uint8 else t for t in as_tensor]
    gray = v2.functional.pil_to_tensor(make_image("L", (SIDE, SIDE)).convert("RGB")).float() / 255
    assert torch.allclose(rgb[1], gray, atol=1 / 255)
    white = Image.new("RGB", (SIDE, SIDE), (255, 255, 255))
    over_white = Image.alpha_composite(white.convert("RGBA"), make_image("RGBA", (SIDE, SIDE))).convert("RGB")
    assert torch.allclose(rgb[2], v2.functional.pil_to_tensor(over_white).float() / 255, atol=2 / 255)


def test_a_guarded_loader_with_workers_skips_and_names_the_files(clean):
    ds = pg.GuardedDataset(clean.with_format("torch"), CONTRACT, on_error="skip")
    loader = pg.GuardedDataLoader(ds, batch_size=3, num_workers=2)
    batches = list(loader)
    assert [b["image"].shape[0] for b in batches] == [1]
    assert sorted((s.index, s.source) for s in loader.skipped) == [(1, None), (2, "train/rgba.png")]


def _previews_by_path(report, side=32):
    from pipeguard.htmlreport._page import _previews
    from pipeguard.htmlreport._problems import problem_groups

    groups = problem_groups(report, report.summary())
    shown = _previews(report, groups, 1, 10.0, side)
    return {r["path"]: shown.get(r["key"]) for g in groups for r in g.rows}


def _image(uri):
    from base64 import b64decode

    return Image.open(io.BytesIO(b64decode(uri.split(",", 1)[1])))


@pytest.mark.parametrize("output", [None, "page.jsonl", "page.parquet"])
def test_the_page_previews_the_images_the_dataset_stores(tmp_path, output):
    """The images are in the dataset, not in files: the page shows each example's own
    stored image (by its row's position, in a shuffled selection and in a streamed report
    too), an example stored as a path only from that file, and nothing it would have to
    fetch."""
    pytest.importorskip("jinja2")
    import numpy as np

    on_disk = tmp_path / "disk.png"
    on_disk.write_bytes(png("L", (SIDE, 5)))
    widths = [3, 4, 6, 7, 9, 10]  # each example its own size, so a preview tells whose it is
    images = [{"bytes": png("L", (SIDE, w)), "path": None} for w in widths]
    images += [{"bytes": None, "path": str(on_disk)}, {"bytes": None, "path": "https://example.invalid/x.png"}]
    full = datasets.Dataset.from_dict({"image": images, "label": [0] * len(images)}, features=features())
    view = full.shuffle(seed=3).select(range(1, len(images)))  # an indices mapping, one example left out
    report = pg.scan(view, contract=CONTRACT, output=None if output is None else tmp_path / output)
    by_path = _previews_by_path(report)
    stored = view.with_format("arrow")["image"].to_pylist()
    for i, value in enumerate(stored):
        path = value["path"] or f"#{i}"
        if value["bytes"] is None and value["path"].startswith("https:"):
            assert report.frame["status"][i] == "unreadable" and by_path[path] is None  # never fetched
            continue
        preview = by_path[path]
        assert preview.error is None and set(preview.images) == {"file", "default-loader", "fixed"}, path
        want = Image.open(io.BytesIO(value["bytes"]) if value["bytes"] is not None else on_disk).convert("RGB")
        got = _image(preview.images["default-loader"]).convert("RGB")
        assert got.size == want.size, path  # this example's own image
        assert np.abs(np.asarray(got, dtype=float) - np.asarray(want, dtype=float)).mean() < 8, path
        assert _image(preview.images["fixed"]).mode == "RGB"
    page = tmp_path / "page.html"
    report.to_html(page)
    text = page.read_text()
    # six previewed examples, each listed under channels and under size; the URL row: its error only
    assert "cannot preview" not in text and text.count('data-view="file"') == 12


def test_the_page_of_a_dataset_shows_errors_in_place_of_previews(mixed, monkeypatch):
    pytest.importorskip("jinja2")
    from pipeguard.htmlreport import _preview_files

    by_path = _previews_by_path(pg.scan(mixed, contract=CONTRACT))
    assert "truncated" in by_path["#3"].error
    assert by_path["#5"] is None  # nothing stored: the row says so, there is nothing to show
    monkeypatch.setattr(_preview_files, "MAX_BYTES", 50)  # every stored image is over it now
    by_path = _previews_by_path(pg.scan(mixed, contract=CONTRACT))
    assert by_path["#1"].error == "OSError: over 0 MiB: not previewed"
