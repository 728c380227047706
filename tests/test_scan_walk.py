import os

from pipeguard.scanner._units import Run
from pipeguard.scanner.sources._walk import WalkStats, walk


def _touch(root, *rels):
    for rel in rels:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def test_every_file_in_sorted_path_order_with_hidden_files(tmp_path):
    _touch(tmp_path, "b/z.png", "a.txt", "a/b.png", "a b/c.png", "a/.hidden.png", ".git/config", "a/sub/x.png")
    rels = [rel for rel, _ in walk(tmp_path)]
    assert rels == sorted(rels)  # "a b/..." < "a.txt" < "a/..." (space, dot, slash)
    assert set(rels) == {"b/z.png", "a.txt", "a/b.png", "a b/c.png", "a/.hidden.png", ".git/config", "a/sub/x.png"}
    paths = dict(walk(tmp_path))
    assert paths["a/sub/x.png"] == os.path.join(str(tmp_path), "a", "sub", "x.png")


def test_walk_is_a_stream(tmp_path):
    _touch(tmp_path, "a/1.png", "b/2.png")
    it = walk(tmp_path)
    assert next(it)[0] == "a/1.png"  # yields before the rest of the tree is listed


def test_symlinked_folders_only_with_follow_and_cycles_are_cut(tmp_path):
    _touch(tmp_path, "data/cats/1.png", "elsewhere/dogs/2.png")
    os.symlink(tmp_path / "elsewhere" / "dogs", tmp_path / "data" / "dogs")
    os.symlink(tmp_path / "data", tmp_path / "data" / "cats" / "loop")
    os.symlink("missing.png", tmp_path / "data" / "cats" / "broken.png")
    stats = WalkStats()
    plain = [rel for rel, _ in walk(tmp_path / "data", stats=stats)]
    assert plain == ["cats/1.png", "cats/broken.png"]  # a broken file link is still a file
    assert sorted(stats.skipped_dir_links) == ["cats/loop", "dogs"]
    stats = WalkStats()
    followed = [rel for rel, _ in walk(tmp_path / "data", follow_symlinks=True, stats=stats)]
    assert followed == ["cats/1.png", "cats/broken.png", "dogs/2.png"]
    assert stats.cycles == ["cats/loop"]


def test_unreadable_folder_is_reported_not_raised(tmp_path):
    _touch(tmp_path, "ok/1.png", "locked/2.png")
    os.chmod(tmp_path / "locked", 0)
    try:
        stats = WalkStats()
        rels = [rel for rel, _ in walk(tmp_path, stats=stats)]
    finally:
        os.chmod(tmp_path / "locked", 0o755)
    if os.geteuid() == 0:  # root reads it anyway
        assert "locked/2.png" in rels
    else:
        assert rels == ["locked/", "ok/1.png"] and stats.unreadable_dirs[0][0] == "locked"  # the folder is a row


def test_runs_interleave_files_and_folders_in_path_order(tmp_path):
    from pipeguard.scanner.sources._walk import walk_runs

    _touch(tmp_path, "a", "a-", "a.b", "a./x", "a b/y", "b/c/d", "b/c.e", "b/c0", "c", "c1", "b/c/e/f")
    runs = list(walk_runs(tmp_path))
    # the files of one folder are split where a subfolder sorts between them ("/" sorts after "." and " ")
    assert [(run.prefix, run.names) for run in runs] == [
        ("", ["a"]), ("a b/", ["y"]), ("", ["a-"]), ("a./", ["x"]), ("", ["a.b"]),
        ("b/", ["c.e"]), ("b/c/", ["d"]), ("b/c/e/", ["f"]), ("b/", ["c0"]), ("", ["c", "c1"])]
    assert all(run.folder == os.path.join(str(tmp_path), run.prefix) for run in runs)
    rels = [rel for rel, _ in walk(tmp_path)]
    assert rels == sorted(rels)


def test_parts_pack_and_cut_runs_and_split_at_any_file():
    from pipeguard.scanner._units import part_size, parts, split_part

    runs = [Run("/r/a/", "a/", ["1", "2", "3"]), Run("/r/b/", "b/", ["4"]), Run("/r/c/", "c/", ["5", "6", "7", "8", "9"])]
    got = list(parts(iter(runs), 4))
    assert [part_size(p) for p in got] == [4, 4, 1]
    assert got[0] == [Run("/r/a/", "a/", ["1", "2", "3"]), Run("/r/b/", "b/", ["4"])]
    assert got[1] == [Run("/r/c/", "c/", ["5", "6", "7", "8"])]
    flat = [(run.prefix + n, run.folder + n) for run in runs for n in run.names]
    whole = [r for p in got for r in p]
    for index in range(len(flat)):
        before, (run, name), after = split_part(whole, index)
        assert (run.prefix + name, run.folder + name) == flat[index]
        assert [r.prefix + n for r in before for n in r.names] == [rel for rel, _ in flat[:index]]
        assert [r.prefix + n for r in after for n in r.names] == [rel for rel, _ in flat[index + 1:]]
        assert all(r.names for r in before + after)  # no empty runs are re-queued


def test_a_tree_thousands_of_folders_deep_walks_in_order(tmp_path):
    import sys

    depth = sys.getrecursionlimit() + 200
    folder = str(tmp_path)
    expected = []
    for k in range(depth):
        folder = os.path.join(folder, "d")
        os.mkdir(folder)
        if k % 250 == 0:  # a file beside each of a few folders: before it ("c") and after it ("e")
            for name in ("c", "e"):
                open(os.path.join(folder, name), "wb").close()
    rel = ""
    for k in range(depth):
        rel += "d/"
        if k % 250 == 0:
            expected.append((k, rel + "c"))
    # "c" < "d/" < "e": each folder's "c" comes before its subfolder, its "e" after the whole subtree
    order = [r for _, r in expected] + [r[:-1] + "e" for _, r in reversed(expected)]
    try:
        assert [r for r, _ in walk(tmp_path)] == order
    finally:
        _remove_chain(folder, str(tmp_path))


def _remove_chain(deepest: str, top: str) -> None:
    """Remove a one-folder-per-level tree bottom up: shutil.rmtree (and so pytest's clean-up of
    old temporary folders) recurses once per level and would fail on it."""
    path = deepest
    while path != top:
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)
        path = os.path.dirname(path)
