import os

from pipeguard.scanner.walk import WalkStats, walk


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
        assert rels == ["ok/1.png"] and stats.unreadable_dirs[0][0] == "locked"
