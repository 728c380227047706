"""The public surface named in DESIGN.md: every name resolves, and no module shadows a function."""

import importlib
import pkgutil
import subprocess
import sys

import pipeguard as pg

DESIGN_NAMES = ["Contract", "SampleInfo", "inspect", "Violation", "ContractViolation", "explain",
                "Diagnosis", "Validate", "EnsureChannels", "EnsureSize", "GuardedDataset",
                "GuardedDataLoader", "Skipped", "collate", "scan", "ScanReport", "trace_model", "trace",
                "MaskSpec", "BoxSpec"]


def test_every_exported_name_resolves():
    for name in pg.__all__:
        assert getattr(pg, name) is not None, name
    assert set(DESIGN_NAMES) <= set(pg.__all__)


def test_functions_stay_functions_after_every_submodule_is_imported():
    for info in pkgutil.walk_packages(pg.__path__, "pipeguard."):
        importlib.import_module(info.name)
    for name in ("inspect", "explain", "scan", "trace", "trace_model", "collate"):
        assert callable(getattr(pg, name)) and not isinstance(getattr(pg, name), type(pg)), name


def test_import_is_cheap():
    # `import pipeguard` must not pull in torch: the CLI's explain and the scan workers stay light.
    code = "import sys, pipeguard; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_status_and_unreadable_kind_are_public_enums_of_the_column_values(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    Image.new("L", (8, 8)).save(tmp_path / "gray.png")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not an image")
    report = pg.scan(tmp_path, contract=pg.Contract(channels=3))
    by_name = dict(zip(report.frame["path"], report.frame["status"]))
    assert by_name == {"empty.png": pg.Status.UNREADABLE, "gray.png": pg.Status.VIOLATION,
                       "notes.txt": pg.Status.NOT_IMAGE, "ok.png": pg.Status.OK}
    assert list(report.summary()["status"]) == [status.value for status in pg.Status]
    kinds = report.frame["error_kind"].dropna().tolist()
    assert kinds == [pg.UnreadableKind.EMPTY] and str(pg.UnreadableKind.EMPTY) == "empty"
