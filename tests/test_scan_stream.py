"""Rows streamed to a file while scanning, and sources that are lists of files (issue: big datasets)."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from archive_support import planted_members, write_tar
from click.testing import CliRunner
from conftest import make_image
from hypothesis import given, settings
from hypothesis import strategies as st
from scan_folders import SIDE, build

import pipeguard as pg
from pipeguard.cli import main
from pipeguard.scanner import _scan as _run
from pipeguard.scanner.output._sinks import read_summary

CONTRACT = pg.Contract(channels=3, size=(SIDE, SIDE))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream") / "data"
    root.mkdir()
    build(root)
    (root / "shards").mkdir()
    write_tar(root / "shards" / "000.tar", planted_members())
    return root


def _same(streamed, held):
    assert list(streamed.rows()) == list(held.rows())
    assert streamed.summary() == held.summary()
    assert streamed.exit_code == held.exit_code
    pd.testing.assert_frame_equal(streamed.frame, held.frame)
    pd.testing.assert_frame_equal(streamed.violations.reset_index(drop=True), held.violations.reset_index(drop=True))


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".json", ".csv"])
@pytest.mark.parametrize("contract", [CONTRACT, None], ids=["given", "inferred"])
def test_a_streamed_report_equals_the_one_held_in_memory(planted, tmp_path, monkeypatch, suffix, contract):
    monkeypatch.setattr(_run, "STREAM_CHUNK", 7)  # many chunks: the summary is counted across them
    out = tmp_path / f"scan{suffix}"
    streamed = pg.scan(planted, contract=contract, output=out)
    held = pg.scan(planted, contract=contract)
    assert streamed.output == os.fspath(out) and streamed._frame is None  # nothing read back yet
    if suffix != ".csv":
        assert read_summary(os.fspath(out)) == held.summary()
    _same(streamed, held)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left beside it


def test_a_json_report_is_read_back_a_row_a_line_and_any_other_layout_whole(planted, tmp_path, monkeypatch):
    from pipeguard.scanner.output import _sinks as _sink

    pg.scan(planted, contract=CONTRACT, output=tmp_path / "scan.json")
    pg.scan(planted, contract=CONTRACT, output=tmp_path / "scan.jsonl")
    want = [r for batch in _sink.read_rows(os.fspath(tmp_path / "scan.jsonl")) for r in batch]
    with monkeypatch.context() as m:
        m.setattr(_sink.json, "load", lambda f: pytest.fail("the whole file was parsed at once"))
        assert [r for batch in _sink.read_rows(os.fspath(tmp_path / "scan.json"), 5) for r in batch] == want
    pretty = tmp_path / "pretty.json"  # the same report laid out by another tool
    pretty.write_text(json.dumps(json.loads((tmp_path / "scan.json").read_text()), indent=2))
    assert [r for batch in _sink.read_rows(os.fspath(pretty)) for r in batch] == want


def test_the_files_are_readable_by_the_usual_tools(planted, tmp_path):
    held = pg.scan(planted, contract=CONTRACT)
    pg.scan(planted, contract=CONTRACT, output=tmp_path / "s.parquet")
    pg.scan(planted, contract=CONTRACT, output=tmp_path / "s.jsonl")
    table = pd.read_parquet(tmp_path / "s.parquet")
    assert table["path"].tolist() == held.frame["path"].tolist()
    lines = (tmp_path / "s.jsonl").read_text().splitlines()
    assert len(lines) == len(held.frame) + 1 and json.loads(lines[-1]) == {"summary": held.summary()}


def test_an_interrupted_scan_leaves_no_report_behind(planted, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_run, "_write_judged", broken)
    with pytest.raises(KeyboardInterrupt):
        pg.scan(planted, contract=CONTRACT, output=tmp_path / "s.parquet")
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_output_suffix_is_refused(planted, tmp_path):
    with pytest.raises(ValueError, match=".parquet"):
        pg.scan(planted, output=tmp_path / "s.txt")


def test_a_list_is_scanned_as_given(planted, tmp_path):
    make_image("RGB", (SIDE, SIDE)).save(tmp_path / "x.png")
    listed = [os.fspath(tmp_path / "x.png"), "does/not/exist.jpg", os.fspath(planted / "shards" / "000.tar")]
    report = pg.scan(listed, contract=CONTRACT)
    rows = list(report.rows())
    assert [r["path"] for r in rows][:2] == listed[:2]  # in the given order, as given
    assert rows[1]["status"] == "unreadable" and rows[1]["error_kind"] == "cannot open"
    assert {r["member"] for r in rows[2:]} == set(planted_members())  # an archive in a list is opened too
    assert all(r["class"] is None for r in rows)  # a listed file has no ImageFolder class
    assert report.root == ""


def test_folders_in_a_list_keep_their_classes(planted):
    report = pg.scan([os.fspath(planted), os.fspath(planted)], contract=CONTRACT)
    alone = pg.scan(planted, contract=CONTRACT)
    rows = list(report.rows())
    single = list(alone.rows())
    assert len(rows) == 2 * len(single)
    shown = os.fspath(planted).replace(os.sep, "/") + "/"
    assert [r["path"] for r in rows[:len(single)]] == [shown + r["path"] for r in single]
    assert [r["class"] for r in rows[:len(single)]] == [r["class"] for r in single]


def _cli(*args, input=None):
    return CliRunner().invoke(main, ["scan", *map(str, args)], input=input)


def test_cli_files_from_a_file_and_stdin_and_several_sources(planted, tmp_path):
    make_image("RGB", (SIDE, SIDE)).save(tmp_path / "a.png")
    make_image("L", (SIDE, SIDE)).save(tmp_path / "b.png")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{tmp_path / 'b.png'}\n\n{tmp_path / 'a.png'}\n")
    for args, stdin in ((["--files-from", listing], None), (["--files-from", "-"], listing.read_text())):
        result = _cli(*args, "--channels", "3", "--format", "jsonl", input=stdin)
        assert result.exit_code == 1, result.output
        lines = [json.loads(x) for x in result.stdout.splitlines()]
        assert [r["path"] for r in lines[:-1]] == [os.fspath(tmp_path / "b.png"), os.fspath(tmp_path / "a.png")]
        assert lines[-1]["summary"]["status"]["violation"] == 1
    both = _cli(tmp_path / "a.png", tmp_path / "b.png", "--channels", "3", "--format", "json")
    assert [r["status"] for r in json.loads(both.stdout)["files"]] == ["ok", "violation"]


def test_cli_streams_parquet_by_its_suffix(planted, tmp_path):
    out = tmp_path / "scan.parquet"
    result = _cli(planted, "--channels", "3", "--size", f"{SIDE}x{SIDE}", "--output", out)
    assert result.exit_code == 1 and result.stdout == ""
    held = pg.scan(planted, contract=CONTRACT)
    assert pd.read_parquet(out)["status"].tolist() == held.frame["status"].tolist()


def test_a_streamed_report_never_goes_into_the_folder_it_scans(planted):
    with pytest.raises(ValueError, match="which holds it"):
        pg.scan(planted, contract=CONTRACT, output=planted / "cats" / "scan.jsonl")
    assert not (planted / "cats" / "scan.jsonl").exists()
    assert not [p for p in (planted / "cats").iterdir() if p.name.startswith(".pipeguard-")]
    with pytest.raises(ValueError, match="which holds it"):  # nor when a URL is listed beside the folder
        pg.scan(["memory://pg-stream/x.png", planted], contract=CONTRACT, output=planted / "cats" / "scan.jsonl")
    assert not (planted / "cats" / "scan.jsonl").exists()


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_the_report_on_stdout_and_the_report_written_while_scanning_have_one_layout(tmp_path, fmt):
    """One writer per format: --format to stdout and --output write the same layout."""
    import pipeguard as pg

    build(tmp_path / "data")
    out = tmp_path / f"report.{fmt}"
    streamed = pg.scan(tmp_path / "data", contract=pg.Contract(channels=3), output=out, workers=1)
    held = pg.scan(tmp_path / "data", contract=pg.Contract(channels=3), workers=1)
    held.elapsed = streamed.elapsed = 0.0
    written = out.read_text(encoding="utf-8", errors="surrogateescape")
    expected = getattr(held, f"to_{fmt}")()
    if fmt == "csv":
        assert written == expected
    else:  # the summary holds the scan's own elapsed time and the output: compare the rows, then the keys
        assert _rows_and_keys(written, fmt) == _rows_and_keys(expected, fmt)


def _rows_and_keys(text, fmt):
    if fmt == "json":
        data = json.loads(text)
        return data["files"], list(data), list(data["summary"])
    lines = [json.loads(line) for line in text.splitlines()]
    return lines[:-1], list(lines[-1]["summary"])


def test_an_output_that_cannot_be_written_is_a_typed_error_naming_it(planted, tmp_path):
    out = tmp_path / "no-such-folder" / "scan.jsonl"
    with pytest.raises(OSError, match=r"^cannot write .*scan\.jsonl: No such file or directory") as caught:
        pg.scan(planted, contract=CONTRACT, output=out)
    assert type(caught.value).__name__ == "OutputError"
    result = CliRunner().invoke(main, ["scan", str(planted), "--channels", "3", "--output", str(out)])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: cannot write {out}: No such file") and result.output.count("\n") == 1


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_streamed_report_honours_the_umask_as_any_written_file_does(planted, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        for suffix in ("jsonl", "parquet"):
            out = tmp_path / f"scan.{suffix}"
            pg.scan(planted, contract=CONTRACT, output=out)
            assert out.stat().st_mode & 0o777 == mode  # mkstemp alone makes 600
    finally:
        os.umask(old)


_TEXT = st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=()), max_size=12),
                  st.sampled_from(['a"b', "c\\d", "e\nf\tg\x00", "\udcff.png", "é/ü", "\u2028"]))
_NUMBER = st.one_of(st.none(), st.integers(min_value=0, max_value=2**62))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.text(max_size=10) | st.just("\udce9.png"), _TEXT, _NUMBER, _NUMBER,
                               st.lists(st.text(max_size=6), max_size=3).map(tuple), st.booleans()),
                     max_size=8))
def test_rows_as_json_text_are_what_json_dumps_writes(rows):
    """The JSON writers encode a column at a time from a fixed template: the text must be
    json.dumps's, byte for byte, non-UTF-8 names (surrogates) \\u-escaped as before."""
    from pipeguard.scanner._row import ScanRow
    from pipeguard.scanner.output._json_rows import json_rows
    from pipeguard.scanner.output._report import columns_of
    from pipeguard.scanner.output._sinks import dumps, record

    made = [ScanRow(path, "ok", text, text, number, number, other, other, text, texts, text, None, text, other,
                    number, text, flag, texts)
            for path, text, number, other, texts, flag in rows]
    assert list(json_rows(columns_of(made))) == [dumps(record(row)) for row in made]
