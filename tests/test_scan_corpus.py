"""A --deep scan of Pillow's own odd and broken test images (skipped without the corpus)."""

import csv

import pipeguard as pg
from pipeguard.core._errors import UnreadableKind


def _manifest(root):
    with open(root / "MANIFEST.csv", newline="") as f:
        return {row["filename"]: row for row in csv.DictReader(f)}


def test_deep_scan_of_the_pillow_corpus_accounts_for_every_file(pillow_corpus):
    manifest = _manifest(pillow_corpus)
    report = pg.scan(pillow_corpus, deep=True, workers=2, time_limit=20)
    rows = {r["path"]: r for r in report.rows()}
    on_disk = sorted(p.name for p in pillow_corpus.iterdir() if p.is_file())
    assert list(rows) == on_disk  # every file, in path order, README and licences included
    for name, m in manifest.items():
        row = rows[name]
        # the manifest's probe called getexif() first, which decoded and raised; its later
        # load() then passed on the half-loaded image. A fresh decode fails: really broken.
        broken_at_exif = "getexif=builtins.OSError" in m["metadata_errors"]
        if m["probe_status"] in ("open_error", "load_error") or broken_at_exif:
            # truncated, corrupt, fuzzer crashers, bombs, missing plugins: never "ok" once decoded
            assert row["status"] in ("unreadable", "not-image"), (name, row)
            assert row["error"] or row["status"] == "not-image", (name, row)
            assert (row["status"] == "unreadable") == (row["error_kind"] in set(UnreadableKind)), (name, row)
        elif m["probe_status"] in ("ok", "frames_error"):  # the first frame decodes
            assert row["status"] == "ok", (name, row)
            assert (row["format"], row["mode"]) == (m["format"], m["mode"]), name
            assert (row["width"], row["height"]) == (int(m["width"]), int(m["height"])), name
        if "decompression_bomb" in m["categories"] and m["probe_status"] == "open_error":
            assert row["error_kind"] in (UnreadableKind.DECOMPRESSION_BOMB, UnreadableKind.BAD_HEADER), (name, row)
        if m["exif_orientation"] and row["status"] == "ok":
            assert row["orientation"] == int(m["exif_orientation"]), name
        if m["n_frames"] and not m["metadata_errors"] and row["status"] == "ok":
            assert row["n_frames"] == int(m["n_frames"]), name
    for name in ("LICENSE-Pillow.txt", "README.md", "MANIFEST.csv", "bmp-README-Pillow.txt"):
        assert rows[name]["status"] == "not-image"
    assert report.exit_code == 1


def test_header_scan_of_the_corpus_catches_truncation_without_decoding(pillow_corpus):
    report = pg.scan(pillow_corpus, workers=1)
    rows = {r["path"]: r for r in report.rows()}
    for name in ("truncated_jpeg.jpg", "truncated_image.png"):
        assert rows[name]["status"] == "unreadable" and rows[name]["error_kind"] == UnreadableKind.TRUNCATED, name
    assert rows["truncated_app14.jpg"]["status"] == "ok"  # complete despite its name
    for name in ("decompression_bomb.gif", "reallybig.bmp"):
        assert rows[name]["error_kind"] == UnreadableKind.DECOMPRESSION_BOMB, name
    assert rows["psd-oob-write-overflow.psd"]["warnings"]  # n_frames raises: a warning, still a row
