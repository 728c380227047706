"""pg.scan over a generated folder with every planted problem: rows, verdicts, contract, formats."""

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scan_folders import SIDE, build

import pipeguard as pg
from pipeguard.core._errors import Reason, UnreadableKind
from pipeguard.scanner._row import COLUMNS, ScanRow
from pipeguard.scanner.engine import _local as local
from pipeguard.scanner.verdict._schema import contract_schema

CONTRACT = pg.Contract(channels=3, size=(SIDE, SIDE))
DESIGN_KEYS = ["path", "status", "format", "mode", "channels", "height", "width", "bytes", "error", "violations"]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    return root, build(root)


@pytest.fixture(scope="module")
def report(planted):
    return pg.scan(planted[0], contract=CONTRACT, workers=1)


def test_every_file_is_a_row_in_path_order_with_its_status(planted, report):
    _, expected = planted
    rows = list(report.rows())
    assert [r["path"] for r in rows] == sorted(expected)
    assert {r["path"]: r["status"] for r in rows} == expected
    assert list(report.frame.columns) == list(COLUMNS)
    assert list(COLUMNS[:len(DESIGN_KEYS)]) == DESIGN_KEYS


def test_rows_carry_what_each_problem_is(report):
    rows = {r["path"]: r for r in report.rows()}
    assert rows["cats/gray.png"]["violations"] == ["channels: has 1 channel (mode 'L'), not the 3 expected"]
    assert rows["cats/gray.png"]["fix"] == "EnsureChannels(3)"
    assert rows["cats/wide.png"]["violations"] == [f"size: is {SIDE}×{SIDE * 2} (H×W), not the {SIDE}×{SIDE} expected"]
    assert rows["cats/wide.png"]["fix"] == f"EnsureSize(({SIDE}, {SIDE}))"
    assert rows["cats/gray_small.png"]["fix"] == f"EnsureChannels(3), EnsureSize(({SIDE}, {SIDE}))"
    assert rows["cats/cmyk.jpg"]["channels"] == 4 and rows["cats/palette.png"]["channels"] == 1
    assert rows["dogs/animated.gif"]["n_frames"] == 3
    assert rows["cats/rotated.jpg"]["orientation"] == 6 and rows["cats/rotated.png"]["orientation"] == 8
    assert rows["cats/truncated.jpg"]["error"].startswith("truncated: no JPEG end-of-image marker")
    assert rows["cats/truncated.png"]["error"].startswith("truncated: no PNG IEND")
    assert rows["dogs/truncated.gif"]["error"].startswith("truncated: no GIF trailer")
    assert rows["dogs/empty.jpg"]["error"] == "empty file (0 bytes)"
    assert rows["dogs/bomb.png"]["error"].startswith("decompression bomb")
    assert rows["dogs/bomb.gif"]["error"].startswith("decompression bomb")
    assert rows["dogs/broken_link.png"]["error"].startswith("broken symlink")
    assert rows["dogs/._rgb.jpg"]["hidden"] and rows[".hidden/rgb.png"]["hidden"]
    assert rows["dogs/notes.txt"]["error"] is None and rows["dogs/notes.txt"]["format"] is None
    assert rows["cats/rgb.png"]["class"] == "cats" and rows["top.png"]["class"] is None
    for r in rows.values():
        assert (r["status"] == "unreadable") == bool(r["error"]) or r["status"] == "not-image", r
        assert (r["status"] == "unreadable") == (r["error_kind"] is not None), r
        assert (r["status"] == "violation") == bool(r["violations"]), r


def test_unreadable_rows_carry_their_kind(report):
    kinds = {r["path"]: r["error_kind"] for r in report.rows() if r["error_kind"] is not None}
    assert kinds == {
        "cats/truncated.jpg": UnreadableKind.TRUNCATED, "cats/truncated.png": UnreadableKind.TRUNCATED,
        "dogs/truncated.gif": UnreadableKind.TRUNCATED, "dogs/empty.jpg": UnreadableKind.EMPTY,
        "dogs/text.jpg": UnreadableKind.UNIDENTIFIED, "dogs/._rgb.jpg": UnreadableKind.UNIDENTIFIED,
        "dogs/bomb.png": UnreadableKind.DECOMPRESSION_BOMB, "dogs/bomb.gif": UnreadableKind.DECOMPRESSION_BOMB,
        "dogs/broken_link.png": UnreadableKind.BROKEN_LINK,
    }
    assert all(type(kind) is str for kind in kinds.values())  # the code's value: plain JSON, cheap to pickle


def test_violations_table_from_the_pandera_schema(report):
    v = report.violations
    assert list(v.columns) == ["path", "member", "check", "expected", "actual"]
    assert v["member"].isna().all()  # plain files
    by = {(p, c): (e, a) for p, _, c, e, a in v.itertuples(index=False)}
    assert by[("cats/gray.png", "channels")] == ("3", "1")
    assert by[("cats/wide.png", "size")] == (f"{SIDE}x{SIDE}", f"{SIDE}x{SIDE * 2}")
    assert by[("cats/gray_small.png", "channels")] == ("3", "1")
    assert by[("cats/gray_small.png", "size")] == (f"{SIDE}x{SIDE}", "8x8")
    failing = set(report.frame.loc[report.frame["status"] == "violation", "path"])
    assert set(v["path"]) == failing
    schema = contract_schema(CONTRACT)
    assert set(schema.columns) == {"channels", "height", "width"}


def test_summary_counts_and_reasons(report, planted):
    _, expected = planted
    s = report.summary()
    assert s["files"] == len(expected)
    assert s["status"] == {k: sum(1 for v in expected.values() if v == k)
                           for k in ("ok", "violation", "unreadable", "not-image")}
    assert s["exit_code"] == report.exit_code == 1
    assert s["contract"] == {"source": "given", "channels": 3, "size": [SIDE, SIDE], "numel": 3 * SIDE * SIDE}
    ch = s["violations"]["channels"]
    assert ch["fix"] == "EnsureChannels(3)" and ch["expected"] == "3"
    assert ch["paths"] == sorted(ch["paths"]) and len(ch["paths"]) <= 5
    assert s["violations"]["size"]["fix"] == f"EnsureSize(({SIDE}, {SIDE}))"
    assert {kind: e["count"] for kind, e in s["errors"].items()} == {
        "truncated": 3, "decompression bomb": 2, "unidentified": 2, "broken link": 1, "empty": 1}
    assert s["errors"]["truncated"]["paths"] == ["cats/truncated.jpg", "cats/truncated.png", "dogs/truncated.gif"]
    assert s["multi_frame"] == 1 and s["exif_rotated"] == 2
    assert s["hidden"] == 3 and s["classes"]["cats"] > 0
    json.dumps(s)  # plain JSON values only


def test_json_and_csv_have_the_fixed_row_format(report):
    data = json.loads(report.to_json())
    assert set(data) == {"summary", "files"}
    assert data["summary"] == report.summary()
    assert [list(r) for r in data["files"]] == [list(COLUMNS)] * len(report.frame)
    assert data["files"] == list(report.rows())
    text = report.to_csv()
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == list(COLUMNS)
    assert [r["path"] for r in parsed] == [r["path"] for r in data["files"]]
    gray = next(r for r in parsed if r["path"] == "cats/gray_small.png")
    assert gray["violations"].count("; ") == 1 and gray["channels"] == "1" and gray["error"] == ""


def test_exit_zero_when_everything_conforms_and_not_images_do_not_count(tmp_path):
    from conftest import make_image

    (tmp_path / "a").mkdir()
    make_image("RGB", (8, 8)).save(tmp_path / "a" / "1.png")
    (tmp_path / "a" / "README.txt").write_text("hello")
    r = pg.scan(tmp_path, contract=pg.Contract(channels=3, size=(8, 8)))
    assert r.exit_code == 0 and r.counts == {"ok": 1, "violation": 0, "unreadable": 0, "not-image": 1}
    assert r.violations.empty


def test_inferred_contract_takes_the_dominant_channels_and_size(tmp_path):
    from conftest import make_image

    for i in range(5):
        make_image("RGB", (12, 10)).save(tmp_path / f"rgb{i}.png")
    make_image("L", (12, 10)).save(tmp_path / "gray.png")
    make_image("RGB", (30, 30)).save(tmp_path / "big.png")
    r = pg.scan(tmp_path)
    assert r.contract == pg.Contract(channels=3, size=(10, 12), name="inferred")
    assert r.contract_source == "inferred"
    assert {p: s for p, s in zip(r.frame["path"], r.frame["status"]) if s != "ok"} == {
        "big.png": "violation", "gray.png": "violation"}


def test_no_dominant_value_leaves_the_field_open(tmp_path):
    from conftest import make_image

    for i, mode in enumerate(["RGB", "L", "RGBA", "LA"]):
        make_image(mode, (8, 8)).save(tmp_path / f"{i}.png")
    r = pg.scan(tmp_path)
    assert r.contract == pg.Contract(size=(8, 8), name="inferred")
    assert "channels" in r.inferred_notes and r.exit_code == 0
    assert "no value is held by more than half" in r.summary()["contract"]["open"]["channels"]


def test_contract_forms_and_numel_only(tmp_path):
    from conftest import make_image

    make_image("RGB", (4, 4)).save(tmp_path / "a.png")
    make_image("L", (8, 6)).save(tmp_path / "b.png")  # 48 elements either way
    r = pg.scan(tmp_path, contract={"numel": 48})
    assert r.counts["violation"] == 0
    r = pg.scan(tmp_path, contract={"numel": 49})
    assert r.violations["check"].tolist() == [Reason.NUMEL, Reason.NUMEL]
    path = tmp_path / "c.toml"
    pg.Contract(channels=1).save(path)
    assert pg.scan(tmp_path, contract=str(path)).violations["path"].tolist() == ["a.png"]
    with pytest.raises(pg.ContractFileError):
        pg.scan(tmp_path, contract=str(tmp_path / "missing.toml"))


def test_bad_paths_raise(tmp_path):
    with pytest.raises(FileNotFoundError):
        pg.scan(tmp_path / "nope")
    (tmp_path / "f.png").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        pg.scan(tmp_path / "f.png")


def test_workers_give_the_same_report_as_one_process(planted, report, monkeypatch):
    monkeypatch.setattr(local, "SERIAL_BELOW", 0)   # use the pool even for a small folder
    monkeypatch.setattr(local, "PLAIN_PART", 3)    # and many parts, to exercise re-ordering
    pooled = pg.scan(planted[0], contract=CONTRACT, workers=2)
    assert list(pooled.rows()) == list(report.rows())


def test_deep_scan_in_workers_agrees_on_the_planted_folder(planted):
    deep = pg.scan(planted[0], contract=CONTRACT, deep=True, workers=2)
    rows = {r["path"]: r for r in deep.rows()}
    assert rows["cats/truncated.jpg"]["error"].startswith("decode failed")
    assert rows["cats/truncated.jpg"]["error_kind"] == UnreadableKind.DECODE_FAILED
    expected = dict(planted[1])
    # decoding settles two differently from the header: the GIF's first frame is whole
    # (only later frames are cut), and the "big" PNG's pixel data is missing
    expected.update({"dogs/truncated.gif": "violation", "dogs/big.png": "unreadable"})
    assert {p: r["status"] for p, r in rows.items()} == expected
    assert rows["dogs/truncated.gif"]["warnings"] == [
        "truncated: no GIF trailer (3B) at the end of the file (but the image decodes)",
        "ImageFolder skips this file: .gif is not one of torchvision's IMG_EXTENSIONS"]
    assert rows["dogs/big.png"]["error"].startswith("decode failed")


def test_progress_is_reported(planted):
    seen = []
    pg.scan(planted[0], contract=CONTRACT, workers=1, progress=lambda n, p: seen.append(n))
    assert seen[-1] == len(planted[1])


@pytest.mark.parametrize("contract", [pg.Contract(channels=3, size=(8, 8)), pg.Contract(numel=192),
                                      pg.Contract(size=(8, 8)), pg.Contract(channels=1)])
def test_violations_of_distinct_combinations_map_back_to_every_row(contract):
    # the schema validates each distinct (channels, height, width) once; every row must
    # still get exactly the verdict a row-by-row check gives, unknown channels included
    from pipeguard.scanner.output._report import build_frame
    from pipeguard.scanner.verdict._schema import check_frame

    combos = [(3, 8, 8), (None, 8, 8), (None, 4, 8), (1, 8, 8), (3, 4, 4), (1, 4, 4), (4, 8, 4)]
    rows = []
    for i in range(70):
        c, h, w = combos[(i * 5) % len(combos)]
        status = "unreadable" if i % 9 == 4 else "ok"
        rows.append(ScanRow(f"d/{i:03d}.png", status, "PNG", "XX" if c is None else "RGB", c, h, w, bytes=10,
                            cls="d", n_frames=1))
    frame = build_frame(rows)
    table, failing = check_frame(frame, contract)

    def fails(c, h, w):
        out = []
        if contract.channels is not None and c != contract.channels:
            out.append(("channels", str(contract.channels), "unknown" if c is None else str(c)))
        if contract.size is not None and (h, w) != contract.size:
            out.append(("size", f"{contract.height}x{contract.width}", f"{h}x{w}"))
        if contract.numel is not None and (contract.channels is None or contract.size is None):
            n = None if c is None else c * h * w
            if n != contract.numel:
                out.append(("numel", str(contract.numel), "unknown" if n is None else str(n)))
        return out

    expected = [(r.path, None, *f) for r in rows if r.status == "ok" for f in fails(r.channels, r.height, r.width)]
    assert [tuple(x) for x in table.itertuples(index=False)] == expected
    verdicts = {i: tuple(f[0] for f in fails(r.channels, r.height, r.width)) for i, r in enumerate(rows)
                if r.status == "ok"}
    assert failing == {i: checks for i, checks in verdicts.items() if checks}


@pytest.mark.parametrize("values", [[8, 16, 2**40], [None, 8, None], [8, None], [None, None], []],
                         ids=["numbers", "null-first", "null-last", "nulls", "empty"])
def test_whole_number_columns_are_nullable_int64_whichever_way_they_are_built(values):
    import numpy as np
    import pandas as pd

    from pipeguard.scanner.output._report import build_frame

    rows = [ScanRow(f"{i}.png", "ok", height=v) for i, v in enumerate(values)]
    got = build_frame(rows)["height"]
    assert str(got.dtype) == "Int64" and got.isna().tolist() == [v is None for v in values]
    assert got.array.equals(pd.array(np.array(values, dtype=np.float64), dtype="Int64"))


@pytest.mark.parametrize("values", [["ok", "violation", "ok"], [None, "b", "a", None], [None, None], [],
                                    ["é", "e", "z", "É"]], ids=["plain", "nulls", "all-null", "empty", "accents"])
def test_categorical_columns_are_pandas_categoricals_with_python_string_categories(values):
    import pandas as pd

    from pipeguard.scanner._columns import categorical_text

    got, want = categorical_text(values), pd.Categorical(values)
    assert list(got) == [v if v is not None else got[i] for i, v in enumerate(values)]
    assert list(got.categories) == list(want.categories) and got.categories.dtype == object
    assert got.codes.tolist() == want.codes.tolist() and got.isna().tolist() == [v is None for v in values]
    mixed = categorical_text(["b", 2, "a"])  # values that do not sort together keep their first-seen order
    assert list(mixed.categories) == ["b", 2, "a"] and list(mixed) == ["b", 2, "a"]


CONTRACTS = [pg.Contract(channels=3, size=(8, 8)), pg.Contract(numel=192), pg.Contract(size=(8, 8)),
             pg.Contract(channels=1), pg.Contract(channels=3, numel=192), pg.Contract(size=(4, 8), numel=96),
             pg.Contract(channels=3, size=(8, 8), numel=192), pg.Contract(dtype="float32")]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.tuples(st.sampled_from([None, 1, 3, 4]), st.sampled_from([None, 4, 8]),
                                 st.sampled_from([None, 4, 8]), st.sampled_from(["ok", "violation", "unreadable"])),
                       min_size=1, max_size=40),
       contract=st.sampled_from(CONTRACTS), judged=st.booleans())
def test_the_scans_verdicts_are_the_pandera_schemas(values, contract, judged):
    """The scan judges plain columns without pandas or pandera; ScanReport.violations validates
    with the contract's pandera schema: the two give the same table and failing rows."""
    import pandas as pd

    from pipeguard.scanner.output._report import build_frame, columns_of
    from pipeguard.scanner.verdict import judge, violation_table
    from pipeguard.scanner.verdict._schema import check_frame

    rows = [ScanRow(f"d/{i:03d}.png", status, "PNG", "RGB" if c else "XX", c, h, w, bytes=10, cls="d",
                    member=f"m{i}" if i % 3 else None)
            for i, (c, h, w, status) in enumerate(values)]
    cells, verdicts = judge(columns_of(rows), contract, judged=judged)
    ours = violation_table(cells)
    theirs, failing = check_frame(build_frame(rows), contract, judged=judged)
    pd.testing.assert_frame_equal(ours, theirs)
    assert sorted(verdicts) == sorted(failing)


def test_a_scan_and_its_summary_never_import_pandera(tmp_path):
    """pandera (and hypothesis behind it) costs 0.2-0.4 s to import: only ScanReport.violations loads it."""
    import subprocess
    import sys

    from PIL import Image

    Image.new("L", (8, 8)).save(tmp_path / "gray.png")
    code = ("import sys, pipeguard as pg\n"
            f"r = pg.scan({str(tmp_path)!r}, contract=pg.Contract(channels=3)); r.summary(); list(r.rows())\n"
            "print('pandera' in sys.modules, r.exit_code)\n"
            "r.violations; print('pandera' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "1", "True"]


@pytest.mark.parametrize("args", [[], ["--format", "jsonl"], ["--output", "r.jsonl"], ["--format", "csv"]],
                         ids=["table", "jsonl", "jsonl-file", "csv"])
def test_the_cli_scans_without_pandas_until_a_table_is_asked_for(tmp_path, args):
    """Importing pandas (with pyarrow) cost 0.3-0.5 s of every scan, however small: the
    terminal's table and the text formats need none of it; report.frame loads it."""
    import subprocess
    import sys

    from PIL import Image

    Image.new("L", (8, 8)).save(tmp_path / "gray.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "rgb.png")
    code = ("import sys\nfrom pipeguard.cli import main\n"
            f"sys.argv = ['pipeguard', 'scan', 'gray.png', 'rgb.png', '--channels', '3', *{args!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "print([m for m in ('pandas', 'pyarrow', 'pandera') if m in sys.modules], code, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.stderr.splitlines()[-1] == "[] 1", done.stderr
    assert "gray.png" in done.stdout + (tmp_path / "r.jsonl").read_text() if args[:1] == ["--output"] else done.stdout
    report = pg.scan([str(tmp_path / "gray.png")], contract=pg.Contract(channels=3))
    assert report.frame["status"].tolist() == ["violation"] and report.violations["check"].tolist() == ["channels"]


def test_paths_given_from_dot_are_not_hidden_but_their_dot_folders_are(tmp_path, monkeypatch):
    """``find . -name '*.png' | pipeguard scan --files-from -`` gives ./a/b.png: . and .. are no names."""
    from PIL import Image

    for rel in ("cats/a.png", ".thumbs/b.png", "cats/.c.png"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        Image.new("RGB", (4, 4)).save(tmp_path / rel)
    monkeypatch.chdir(tmp_path / "cats")
    listed = ["./a.png", "../.thumbs/b.png", "./.c.png", "../cats/a.png"]
    frame = pg.scan(listed, contract=pg.Contract(channels=3)).frame
    assert dict(zip(frame["path"], frame["hidden"].tolist())) == {
        "./a.png": False, "../.thumbs/b.png": True, "./.c.png": True, "../cats/a.png": False}
    assert pg.scan(listed).summary()["hidden"] == 2


ROW_VALUES = st.tuples(st.sampled_from(["ok", "violation", "unreadable", "not-image"]),
                       st.sampled_from([None, "PNG", "JPEG"]), st.sampled_from([None, "RGB", "L", "I;16", "P"]),
                       st.sampled_from([None, 1, 3, 4]), st.sampled_from([None, 4, 8, 300]),
                       st.sampled_from([None, 4, 8]), st.sampled_from([None, 1, 2]), st.sampled_from([None, 1, 6]),
                       st.sampled_from([None, "cats", "dogs"]), st.booleans(), st.sampled_from([(), ("w",)]),
                       st.sampled_from(["truncated", "empty"]))


@settings(max_examples=60, deadline=None)
@given(values=st.lists(ROW_VALUES, max_size=40))
def test_the_tally_of_plain_columns_is_what_pandas_counts(values):
    """The summary is counted from plain columns (no pandas on the scan's path): the oracle
    is the same counts taken by pandas over the scan table."""
    from collections import Counter

    from pipeguard.scanner.output._report import build_frame, columns_of
    from pipeguard.scanner.verdict import Tally

    rows = [ScanRow(f"d/{i:02d}.png", status, fmt, mode, c, h, w, bytes=10, member=f"m{i}" if i % 3 else None,
                    n_frames=n, orientation=o, cls=cls, hidden=hidden, warnings=warns,
                    error_kind=kind if status == "unreadable" else None,  # an unreadable row has its kind
                    error="bad" if status == "unreadable" else None)
            for i, (status, fmt, mode, c, h, w, n, o, cls, hidden, warns, kind) in enumerate(values)]
    tally = Tally()
    tally.add(columns_of(rows), [])
    got = tally.summary({}, {}, {})

    frame = build_frame(rows)
    images = frame[frame["status"].isin(["ok", "violation"])]

    def counts(column):
        return {str(k): int(n) for k, n in column.value_counts(dropna=True).items() if n}

    sizes = images.groupby(["height", "width"], observed=True).size()
    unreadable = frame[frame["status"] == "unreadable"]
    assert got["files"] == len(frame) and got["hidden"] == int(frame["hidden"].sum())
    assert got["status"] == {s: int((frame["status"] == s).sum()) for s in ("ok", "violation", "unreadable",
                                                                          "not-image")}
    assert got["classes"] == counts(frame["class"]) and got["formats"] == counts(images["format"])
    assert got["modes"] == counts(images["mode"]) and got["channels"] == counts(images["channels"])
    assert tally.sizes == Counter({(int(h), int(w)): int(n) for (h, w), n in sizes.items()})
    assert got["multi_frame"] == int((images["n_frames"].fillna(1) > 1).sum())
    assert got["exif_rotated"] == int((images["orientation"].fillna(1) != 1).sum())
    assert got["sixteen_bit"] == int((images["mode"] == "I;16").sum())
    assert got["warnings"] == sum(map(bool, frame["warnings"]))
    assert {k: e["count"] for k, e in got["errors"].items()} == counts(unreadable["error_kind"])


def test_a_list_looks_at_each_entry_once_before_probing_it(tmp_path, monkeypatch):
    """A listed entry was stat-ed to tell a folder (isdir), then realpath-ed (a lstat per part
    of its path) for each output checked. Now each entry's folder is listed once, and a plain
    file named in the list is not looked at on its own before the probe opens it."""
    import os
    from collections import Counter

    from PIL import Image

    (tmp_path / "d").mkdir()
    paths = [str(tmp_path / "d" / f"{i}.png") for i in range(5)]
    for p in paths:
        Image.new("RGB", (4, 4)).save(p)
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "sub" / "x.png")
    looked: Counter = Counter()
    real_stat, real_lstat = os.stat, os.lstat

    def counted(real):
        def look(path, *args, **kwargs):
            looked[os.fspath(path)] += 1
            return real(path, *args, **kwargs)
        return look

    monkeypatch.setattr(os, "stat", counted(real_stat))
    monkeypatch.setattr(os, "lstat", counted(real_lstat))
    report = pg.scan([*paths, str(tmp_path / "sub")], workers=1, output=tmp_path / "r.jsonl")
    assert report.counts["ok"] == 6
    assert not any(looked[p] for p in paths), looked
    assert report.frame["path"].tolist()[-1].endswith("sub/x.png")  # the listed folder was still walked


def test_what_a_list_names_is_told_apart_by_listing_folders_or_by_a_stat(tmp_path, monkeypatch):
    import os

    from pipeguard.scanner.sources import _entries

    (tmp_path / "big").mkdir()
    for i in range(40):
        (tmp_path / "big" / f"{i}.png").write_bytes(b"x")
    (tmp_path / "big" / "sub").mkdir()
    os.symlink(tmp_path / "big" / "0.png", tmp_path / "link.png")
    os.symlink(tmp_path / "big", tmp_path / "linked")
    listed = [str(tmp_path / "big" / "1.png"), str(tmp_path / "big" / "sub"), str(tmp_path / "link.png"),
              str(tmp_path / "linked"), str(tmp_path / "gone.png"), tmp_path / "big" / "2.png"]
    for slack in (256, 0):  # the folder listed, or (too large for two entries) each entry stat-ed
        monkeypatch.setattr(_entries, "LISTING_SLACK", slack)
        found = _entries.local_entries(listed)
        assert found.folders == [str(tmp_path / "big" / "sub"), str(tmp_path / "linked")], slack
        assert sorted(found.files) == sorted(str(p) for p in (listed[0], listed[2], listed[4], listed[5]))
        assert {str(tmp_path / "link.png"), str(tmp_path / "gone.png")} <= found.links
    with pytest.raises(_entries.OutputClobbers, match="a file the scan reads"):  # through the listed link
        _entries.refuse_output(listed, tmp_path / "big" / "0.png", streamed=False)
    with pytest.raises(_entries.OutputClobbers, match="while scanning"):  # inside a listed folder's target
        _entries.refuse_output(listed, tmp_path / "big" / "new.jsonl", streamed=True)
    _entries.refuse_output(listed, tmp_path / "elsewhere.jsonl", streamed=True)
