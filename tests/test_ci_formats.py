"""``pipeguard scan --format junit|github``: the files CI systems read, through the real entry point."""

import xml.etree.ElementTree as ET
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from conftest import make_image
from PIL import Image
from scan_folders import SIDE, build, png_bytes

import pipeguard as pg
from pipeguard.cli import main
from pipeguard.scanner.output._ci_formats import (
    escape_data,
    escape_property,
    github_line,
    junit_tree,
)

PROBLEMS = ("violation", "unreadable")
ODD_NAME = "odd 100%, a:b\nline.png"   # %, comma, colon and a newline: each must be escaped


def run(*args):
    """``pipeguard scan ARGS`` in this process (click's runner): exit code, stdout, stderr."""
    result = CliRunner().invoke(main, ["scan", *map(str, args)])
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("ci")
    expected = build(root)
    (root / ODD_NAME).write_bytes(png_bytes(make_image("L", (SIDE, SIDE))))
    expected[ODD_NAME] = "violation"
    return root, expected


def test_junit_has_one_testcase_per_file_and_fails_exactly_the_problem_files(planted):
    root, expected = planted
    result = run(root, "--channels", "3", "--size", f"{SIDE}x{SIDE}", "--format", "junit")
    assert result.returncode == 1, result.stderr
    suite = ET.fromstring(result.stdout.encode("utf-8"))
    assert suite.tag == "testsuite" and suite.get("name") == "pipeguard scan"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert sorted(cases) == sorted(expected)
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == {p for p, s in expected.items() if s in PROBLEMS}
    skipped = {name for name, case in cases.items() if case.find("skipped") is not None}
    assert skipped == {p for p, s in expected.items() if s == "not-image"}
    for name in failed:
        assert cases[name].find("failure").get("type") == expected[name]
    counts = {k: int(suite.get(k)) for k in ("tests", "failures", "skipped")}
    assert counts == {"tests": len(expected), "failures": len(failed), "skipped": len(skipped)}


def test_junit_failure_carries_the_row_message_and_a_fix_that_works(planted):
    root, _ = planted
    result = run(root, "--channels", "3", "--size", f"{SIDE}x{SIDE}", "--format", "junit")
    cases = {c.get("name"): c for c in ET.fromstring(result.stdout.encode()).iter("testcase")}
    gray = cases["cats/gray.png"].find("failure").get("message")
    assert gray.startswith("violation: channels: has 1 channel (mode 'L'), not the 3 expected")
    assert "fix: add pipeguard.EnsureChannels(3) to the transform" in gray
    contract = pg.Contract(channels=3, size=(SIDE, SIDE))
    with Image.open(root / "cats/gray.png") as image:
        assert contract.check(image) != [] and contract.check(pg.EnsureChannels(3)(image)) == []
    truncated = cases["cats/truncated.jpg"].find("failure")
    assert truncated.get("message").startswith("unreadable: truncated: no JPEG end-of-image marker (FF D9)")
    assert "format: JPEG" in truncated.text


def test_junit_escapes_names_xml_cannot_hold():
    rows = [{"path": "a&<b>\"\x01\udcff.png", "status": "unreadable", "error": "empty file (0 bytes)"},
            {"path": "c.tar", "member": "x/1.png", "status": "ok"}]
    text = ET.tostring(junit_tree(rows), encoding="unicode")
    names = [c.get("name") for c in ET.fromstring(text).iter("testcase")]
    assert names == ['a&<b>"\\x01\\xff.png', "c.tar::x/1.png"]


def test_github_has_one_error_annotation_per_problem_file(planted):
    root, expected = planted
    result = run(root, "--channels", "3", "--size", f"{SIDE}x{SIDE}", "--format", "github")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert all(line.startswith("::error file=") for line in lines)
    problems = {p for p, s in expected.items() if s in PROBLEMS}
    assert len(lines) == len(problems)
    files = []
    for line in lines:
        props, message = line[len("::error "):].split("::", 1)
        fields = dict(kv.split("=", 1) for kv in props.split(","))
        assert fields["title"] == "pipeguard"
        assert "\n" not in message and message.split(":")[0] in PROBLEMS
        files.append(unquote(fields["file"]))
    assert sorted(files) == sorted(f"{root}/{p}" for p in problems)


def test_github_escapes_per_the_workflow_command_spec():
    row = {"path": ODD_NAME, "status": "unreadable", "error": "cannot open: 50% done\r\nno"}
    line = github_line(row, "data/")
    assert line == ("::error file=data/odd 100%25%2C a%3Ab%0Aline.png,title=pipeguard::"
                    "unreadable: cannot open: 50%25 done%0D%0Ano")
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25" and escape_data("a:b,c%") == "a:b,c%25"


def test_a_conforming_folder_gives_no_annotations_and_no_failures(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes(make_image("RGB", (SIDE, SIDE))))
    assert run(tmp_path, "--channels", "3", "--format", "github").stdout == ""
    result = run(tmp_path, "--channels", "3", "--format", "junit")
    assert result.returncode == 0
    suite = ET.fromstring(result.stdout.encode())
    assert suite.get("tests") == "1" and suite.get("failures") == "0" and suite.find(".//failure") is None
