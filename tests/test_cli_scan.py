"""``pipeguard scan``: exit statuses, formats, contract files, usage errors.

In process through click's runner (``pipeguard.cli.main``), but for one smoke test of
the installed command in a subprocess.
"""

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, make_image
from scan_folders import SIDE, build

import pipeguard as pg
from pipeguard.cli import main
from pipeguard.scanner._row import COLUMNS


def run(*args):
    """``pipeguard scan ARGS`` in this process; an exception the command let out is raised here."""
    result = CliRunner().invoke(main, ["scan", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    return root, build(root)


def test_make_scan_on_the_bundled_fixtures_reports_and_exits_one():
    result = run(FIXTURES, "--channels", "3", "--size", "64x64")
    assert result.exit_code == 1, result.stderr
    out = result.stdout
    assert result.stderr == ""  # the progress line is for terminals only
    assert "18 files" in out and "3 ok, 10 violation, 4 unreadable, 1 not-image" in out
    assert "channels: 9 files, expected 3, got 1 (5), 2 (2), 4 (2)" in out
    assert "fix: add pipeguard.EnsureChannels(3)" in out
    assert "size: 1 file, expected 64x64, got 48x32 (1)" in out and "EnsureSize((64, 64))" in out
    assert "cats/cat_truncated.jpg  truncated: no JPEG end-of-image marker (FF D9)" in out
    assert "dogs/dog_empty.jpg" in out and "dogs/.hidden.png" in out
    assert out.rstrip().endswith("exit 1: 10 files violate the contract, 4 cannot be read")


def test_json_output_is_the_fixed_object(planted):
    root, expected = planted
    result = run(root, "--channels", "3", "--size", f"{SIDE}x{SIDE}", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert set(data) == {"summary", "files"}
    assert [r["path"] for r in data["files"]] == sorted(expected)
    assert {r["path"]: r["status"] for r in data["files"]} == expected
    assert all(list(r) == list(COLUMNS) for r in data["files"])
    assert data["summary"]["status"]["not-image"] == 4 and data["summary"]["exit_code"] == 1
    assert data == json.loads(pg.scan(root, contract=pg.Contract(channels=3, size=(SIDE, SIDE))).to_json())


def test_csv_to_a_file(planted, tmp_path):
    root, expected = planted
    out = tmp_path / "scan.csv"
    result = run(root, "--channels", "3", "--format", "csv", "--output", out)
    assert result.exit_code == 1 and result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == len(expected)
    gray = next(r for r in rows if r["path"] == "cats/gray.png")
    assert (gray["status"], gray["channels"], gray["fix"]) == ("violation", "1", "EnsureChannels(3)")


def test_exit_zero_when_everything_conforms(tmp_path):
    for i in range(3):
        make_image("RGB", (8, 8)).save(tmp_path / f"{i}.png")
    (tmp_path / "notes.txt").write_text("not an image, not a problem")
    result = run(tmp_path, "--channels", "3", "--size", "8x8")
    assert result.exit_code == 0, result.stdout
    assert "ok: all 3 images conform to the contract (1 not-image file ignored)" in result.stdout


def test_inferred_contract_is_reported_and_written(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(4):
        make_image("RGB", (12, 10)).save(data / f"{i}.png")
    make_image("L", (12, 10)).save(data / "gray.png")
    target = tmp_path / "contract.toml"
    result = run(data, "--write-contract", target)
    assert result.exit_code == 1
    assert "contract   [3, 10, 12] (360 elements), inferred" in result.stdout
    assert pg.Contract.load(target) == pg.Contract(channels=3, size=(10, 12), name="inferred")
    again = run(data, "--contract", target, "--format", "json")
    assert json.loads(again.stdout)["summary"]["contract"]["source"] == "given"
    assert run(data, "--contract", target, "--channels", "1", "--size", "10x12").exit_code == 1


@pytest.mark.parametrize("args, message", [
    (["{missing}"], "no such file or folder"),
    ([""], "an empty SOURCE"),
    ([], "nothing to scan"),
    (["{root}", "--format", "parquet"], "give --output"),
    (["{root}", "--output", "{root}/a.png"], "a file the scan reads"),
    (["{root}", "--format", "jsonl", "--output", "{root}/new.jsonl"], "while scanning"),
    # a URL beside them: the local entries are still the scan's own files
    (["memory://pg-usage/x.png", "{root}/a.png", "--output", "{root}/a.png"], "a file the scan reads"),
    (["memory://pg-usage/x.png", "{root}", "--format", "jsonl", "--output", "{root}/new.jsonl"], "while scanning"),
    # each output against the same entries: the page, and a file reached through a listed link
    (["{root}/a.png", "{root}/b.png", "--output", "{root}/../r.jsonl", "--html", "{root}/a.png"],
     "a file the scan reads"),
    (["{root}/link.png", "{root}/b.png", "--html", "{root}/a.png"], "a file the scan reads"),
    (["{root}/b.png", "{root}/linked", "--format", "jsonl", "--output", "{root}/new.jsonl"], "while scanning"),
    (["{root}", "--size", "64by64"], "should be HEIGHTxWIDTH"),
    (["{root}", "--channels", "0"], "--channels"),
    (["{root}", "--contract", "{missing}.toml"], "cannot be read"),
    (["{root}", "--contract", "{bad}"], "not valid TOML"),
    (["{root}", "--format", "xml"], "--format"),
    (["{root}", "--timeout", "nan"], "finite number of seconds above 0"),
    (["{root}", "--timeout", "inf"], "finite number of seconds above 0"),
    (["{root}", "--timeout", "-1"], "finite number of seconds above 0"),
    (["{root}", "--timeout", "0"], "finite number of seconds above 0"),
    (["{root}", "--timeout", "soon"], "number of seconds"),
])
def test_usage_errors_exit_two_with_one_line(tmp_path, args, message):
    (tmp_path / "bad.toml").write_text("channels = [\n")
    make_image("RGB", (8, 8)).save(tmp_path / "a.png")
    make_image("RGB", (8, 8)).save(tmp_path / "b.png")
    os.symlink(tmp_path / "a.png", tmp_path / "link.png")
    os.symlink(tmp_path, tmp_path / "linked")  # a listed folder reached through a link
    fill = {"missing": tmp_path / "missing", "root": tmp_path, "bad": tmp_path / "bad.toml"}
    result = run(*[a.format(**fill) for a in args])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.stderr


def test_nothing_to_write_is_a_usage_error(tmp_path):
    for i, mode in enumerate(["RGB", "L", "RGBA", "LA"]):
        make_image(mode, (8 + i, 8)).save(tmp_path / f"{i}.png")
    result = run(tmp_path, "--write-contract", tmp_path / "c.toml")
    assert result.exit_code == 2 and "no contract to write" in result.stderr
    assert not (tmp_path / "c.toml").exists()


def test_deep_and_workers_options(planted):
    root, _ = planted
    result = run(root, "--channels", "3", "--deep", "--workers", "2", "--timeout", "5", "--format", "json")
    assert result.exit_code == 1
    rows = {r["path"]: r for r in json.loads(result.stdout)["files"]}
    assert rows["cats/truncated.jpg"]["error"].startswith("decode failed")
    assert json.loads(result.stdout)["summary"]["deep"] is True


def test_help_lists_the_options():
    result = run("--help")
    assert result.exit_code == 0
    for option in ("--channels", "--size", "--contract", "--deep", "--workers", "--format", "--output",
                   "--follow-symlinks", "--write-contract"):
        assert option in result.stdout


def test_follow_symlinks_and_table_to_a_file(tmp_path):
    data, other = tmp_path / "data", tmp_path / "other"
    (data / "cats").mkdir(parents=True)
    other.mkdir()
    make_image("RGB", (8, 8)).save(data / "cats" / "a.png")
    make_image("L", (8, 8)).save(other / "b.png")
    os.symlink(other, data / "dogs")
    report = tmp_path / "report.txt"
    plain = run(data, "--channels", "3", "--output", report)
    assert plain.exit_code == 0 and plain.stdout == ""
    assert "skipped    symlinked folder dogs (use --follow-symlinks)" in report.read_text()
    followed = run(data, "--channels", "3", "--follow-symlinks", "--format", "json")
    assert followed.exit_code == 1
    assert [r["path"] for r in json.loads(followed.stdout)["files"]] == ["cats/a.png", "dogs/b.png"]


def test_the_installed_command_exits_with_the_verdict_and_survives_a_closed_pipe(tmp_path):
    # the one subprocess test: the real entry point, its exit status, and a reader that
    # stops early (`pipeguard scan ... | head`) without a traceback
    data = make_image("RGB", (4, 4))
    for i in range(1500):  # far more JSON than a pipe buffers
        data.save(tmp_path / f"{i:04d}.png")
    command = os.path.join(os.path.dirname(sys.executable), "pipeguard")
    proc = subprocess.Popen([command, "scan", str(tmp_path), "--channels", "1", "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = proc.stdout.read(10)
    proc.stdout.close()
    errors = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 1  # every image has 3 channels, not 1
    assert head == b'{"files": ' and errors == b""


def test_file_names_that_are_not_utf8(tmp_path):
    make_image("RGB", (8, 8)).save(tmp_path / "ok.png")
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.png"), "wb") as f:  # Latin-1 name
        f.write(b"")
    folder = os.path.join(os.fsencode(tmp_path), b"d\xe9j\xe0")  # a class named in Latin-1 too
    os.mkdir(folder)
    make_image("RGB", (8, 8)).save(os.fsdecode(os.path.join(folder, b"x.png")))
    for fmt in ("table", "json", "csv"):
        result = run(tmp_path, "--format", fmt)
        assert result.exit_code == 1 and result.stderr_bytes == b"", result.stderr
        if fmt == "json":  # valid JSON: the undecodable byte is an escaped surrogate
            out = json.loads(result.stdout)
            assert [f["path"] for f in out["files"]] == ["caf\udce9.png", "d\udce9j\udce0/x.png", "ok.png"]
            assert out["files"][1]["class"] == "d\udce9j\udce0" and out["summary"]["classes"] == {"d\udce9j\udce0": 1}
        else:  # text output gives the name's own bytes back
            assert b"caf\xe9.png" in result.stdout_bytes


@pytest.mark.parametrize("toml, said", [
    ('dtype = "float32"', ["dtype float32, given", "dtype not checked: they describe tensors"]),
    ("value_range = [0, 1]", ["value range [0, 1], given", "value_range not checked: they describe tensors"]),
    ('name = "bare"', ["'bare' no fields, given"]),
    ('channels = 3\ndtype = "uint8"\nvalue_range = [0, 255]', ["channels 3, dtype uint8, value range [0, 255], given",
                                                              "dtype and value_range not checked"]),
])
def test_a_contract_without_shape_fields_is_described_in_the_table(tmp_path, toml, said):
    (tmp_path / "c.toml").write_text(toml + "\n")
    make_image("RGB", (8, 8)).save(tmp_path / "data.png")
    result = run(tmp_path / "data.png", "--contract", tmp_path / "c.toml")
    assert result.exit_code == 0, result.stderr
    for text in said:
        assert text in result.stdout, result.stdout


def test_a_folder_without_images_is_reported_not_crashed(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    result = run(tmp_path)
    assert result.exit_code == 0 and "nothing to check: no image files found" in result.stdout, result.stderr


def test_the_scanners_warnings_reach_the_user(tmp_path):
    make_image("RGB", (8, 8)).save(tmp_path / "a.png")
    result = run(tmp_path, "--cache", tmp_path / "cache")  # a cache inside the scanned folder is not used
    assert result.exit_code == 0
    assert "pipeguard: not using the cache" in result.stderr
    assert not (tmp_path / "cache").exists()


def test_one_image_is_one_image(tmp_path):
    """'all 1 images conform' read like a machine wrote it."""
    make_image("RGB", (8, 8)).save(tmp_path / "a.png")
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--channels", "3"])
    assert result.exit_code == 0 and "ok: the 1 image conforms to the contract" in result.stdout


def test_the_table_names_each_archive_members_error_and_survives_a_tar_damaged_after_them(tmp_path):
    """Errors were looked up by path, which an archive's members share: a member's text was
    dropped, and an archive's own row beside them crashed the table (truth value of a Series)."""
    import tarfile

    folder = tmp_path / "data"
    folder.mkdir()
    with tarfile.open(folder / "shard.tar", "w") as tf:
        for name in ("a.jpg", "b.jpg"):
            tf.addfile(tarfile.TarInfo(name), io.BytesIO(b""))  # empty members: unreadable rows
        end = tf.offset
    data = (folder / "shard.tar").read_bytes()[:end] + b"\xff" * 1024  # no end blocks: damaged after them
    (folder / "shard.tar").write_bytes(data)
    result = CliRunner().invoke(main, ["scan", str(folder), "--channels", "3"])
    assert result.exit_code == 1, result.output
    assert "shard.tar::a.jpg  empty file (0 bytes)" in result.stdout
    assert "shard.tar::b.jpg  empty file (0 bytes)" in result.stdout
    assert "shard.tar  damaged tar archive" in result.stdout


def test_the_table_counts_the_symlinked_folders_it_does_not_list(tmp_path):
    (tmp_path / "real").mkdir()
    make_image("RGB", (8, 8)).save(tmp_path / "real" / "a.png")
    data = tmp_path / "data"
    data.mkdir()
    for i in range(5):
        os.symlink(tmp_path / "real", data / f"link{i}")
    result = CliRunner().invoke(main, ["scan", str(data), "--channels", "3"])
    assert result.stdout.count("skipped    symlinked folder") == 3
    assert "… and 2 more" in result.stdout


def test_a_report_written_to_a_file_still_shows_the_terminal_what_it_found(planted, tmp_path):
    root, _ = planted
    out, page = tmp_path / "report.jsonl", tmp_path / "page.html"
    result = run(root, "--channels", "3", "--size", f"{SIDE}x{SIDE}", "--output", out, "--html", page)
    assert result.exit_code == 1 and result.stdout == ""  # stdout stays free for data
    err = result.stderr
    assert "files      " in err and "violations: " in err and "unreadable: " in err  # counts, problems by reason
    assert f"report: {out} (jsonl)" in err and f"page: {page}" in err
    assert err.rstrip().splitlines()[-2:] == [f"report: {out} (jsonl)", f"page: {page}"]


def test_the_table_warns_wherever_a_16_bit_file_is_listed(tmp_path):
    """ImageFolder's loader clips 16-bit images to white; the page said so, the table did not."""
    import numpy as np
    from PIL import Image

    Image.fromarray(np.full((8, 8), 1000, dtype=np.uint16)).save(tmp_path / "deep.png")
    make_image("RGB", (8, 8)).save(tmp_path / "rgb.png")
    result = run(tmp_path, "--channels", "3")
    assert result.exit_code == 1
    assert "notes      1 16-bit file (ImageFolder's default loader clips them to white" in result.stdout
    assert "    deep.png  (16-bit: ImageFolder's default loader turns it white)\n" in result.stdout
    summary = json.loads(run(tmp_path, "--channels", "3", "--format", "json").stdout)["summary"]
    assert summary["sixteen_bit"] == 1


def test_a_scan_of_a_list_names_the_list_in_its_heading(tmp_path, monkeypatch):
    """`find . | pipeguard scan --files-from -` was headed 'pipeguard scan : 17 files'."""
    make_image("RGB", (8, 8)).save(tmp_path / "a.png")
    make_image("RGB", (8, 8)).save(tmp_path / "b.png")
    (tmp_path / "list.txt").write_text("./a.png\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["scan", "--files-from", "-", "--channels", "3"], input="./a.png\n")
    assert result.stdout.startswith("pipeguard scan the files listed in standard input: 1 file, ")
    assert "hidden" not in result.stdout  # ./a.png is not a hidden file
    result = run("b.png", "--files-from", "list.txt", "--channels", "3")
    assert result.stdout.startswith("pipeguard scan b.png and the files listed in list.txt: 2 files, ")
    assert run("a.png", "b.png", "--channels", "3").stdout.startswith("pipeguard scan a.png, b.png: 2 files, ")
    assert pg.scan(["a.png", "b.png", "a.png", "b.png"]).title == "a.png, b.png, a.png … and 1 more"
    run("--files-from", "list.txt", "--channels", "3", "--html", "page.html")
    assert "<h1>pipeguard scan of <code>the files listed in list.txt</code></h1>" in (tmp_path / "page.html").read_text()


def test_an_xpm_pillow_cannot_read_is_not_sent_to_be_re_downloaded(tmp_path):
    folder = tmp_path / "icons"
    folder.mkdir()
    (folder / "named.xpm").write_bytes(b'/* XPM */\nstatic char *x[] = {\n"1 1 1 1",\n"a c red",\n"a"};\n')
    result = run(folder, "--channels", "3", "--html", tmp_path / "page.html")
    assert "unsupported variant (1)" in result.stdout and "Pillow cannot read this XPM variant" in result.stdout
    page = (tmp_path / "page.html").read_text()
    assert "a valid file of a variant Pillow cannot read" in page and "re-download" not in page
