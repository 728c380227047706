"""Which files a reason lists: a sample covering its modes, formats, sizes and folders, not
the first 100 by name; deterministic; the page says how many of how many."""

from __future__ import annotations

import random
import re

import pytest
from PIL import Image

import pipeguard as pg
from pipeguard.htmlreport._problems import problem_groups
from pipeguard.htmlreport._variety import Variety, turns

pytest.importorskip("jinja2")


def _icons(root):
    """A channels group where alphabetical order hides modes: 300 RGBA icons of one theme
    first by name, then a few P, LA, L and 16-bit files, and RGB photos in two sizes."""
    theme = root / "aaa_theme"
    theme.mkdir(parents=True)
    for i in range(300):
        Image.new("RGBA", (16, 16), (i % 256, 0, 0, 128)).save(theme / f"icon_{i:03d}.png")
    odd = root / "odd"
    odd.mkdir()
    for mode in ("P", "LA", "L", "I;16"):
        for i in range(3):
            Image.new(mode, (24, 24)).save(odd / f"{mode.replace(';', '')}_{i}.png")
    Image.new("CMYK", (600, 400)).save(root / "zz_cmyk.jpg")
    return root


def test_a_reason_lists_every_mode_and_folder_not_the_first_100_by_name(tmp_path):
    report = pg.scan(_icons(tmp_path / "data"), contract=pg.Contract(channels=3))
    groups = problem_groups(report, report.summary())
    channels = next(g for g in groups if g.key == "channels")
    assert channels.count == 300 + 12 + 1 and len(channels.rows) == 100
    assert {r["mode"] for r in channels.rows} == {"RGBA", "P", "LA", "L", "I;16", "CMYK"}
    first = channels.rows[:6]  # one of each kind before a second of any
    assert sorted(r["mode"] for r in first) == sorted(["RGBA", "P", "LA", "L", "I;16", "CMYK"])
    assert len({r["key"] for r in channels.rows}) == 100
    again = next(g for g in problem_groups(report, report.summary()) if g.key == "channels")
    assert [r["key"] for r in again.rows] == [r["key"] for r in channels.rows]  # deterministic
    # after one of each kind, more of each in turn: all 12 odd files, the rest icons
    assert sum(r["mode"] != "RGBA" for r in channels.rows) == 13


def test_the_page_says_how_many_were_listed_of_how_many(tmp_path):
    report = pg.scan(_icons(tmp_path / "data"), contract=pg.Contract(channels=3))
    page = tmp_path / "r.html"
    report.to_html(page, per_reason=20)
    html = page.read_text()
    section = re.search(r'data-reason="channels".*?</section>', html, re.S).group(0)
    assert re.search(r'data-listed="20">20 of 313 listed', section)
    assert "… and 293 more" in section
    shown = re.findall(r'data-path="([^"]+)"', section)
    assert any(p.startswith("odd/P_") for p in shown) and any(p.startswith("odd/I16_") for p in shown)


def test_kinds_take_turns_mode_first_then_format_size_and_folder():
    kinds = [("RGBA", "PNG", 0, f"theme{i}") for i in range(5)] + [("L", "PNG", 0, "a"), ("L", "JPEG", 2, "b")]
    order = turns(kinds)
    assert order[:2] == [("L", "JPEG", 2, "b"), ("RGBA", "PNG", 0, "theme0")]
    assert order[2:4] == [("L", "PNG", 0, "a"), ("RGBA", "PNG", 0, "theme1")]
    assert sorted(order) == sorted(kinds)


@pytest.mark.parametrize("seed", range(40))
def test_pruning_as_rows_arrive_never_changes_the_sample(seed):
    """A sample pruned after every chunk chooses what one that kept every row chooses."""
    rng = random.Random(seed)
    limit = rng.choice([1, 3, 10, 25])
    modes, folders = ["RGBA", "L", "P", "LA"][:rng.randint(1, 4)], [f"f{i}" for i in range(rng.randint(1, 60))]
    rows = [(rng.choice(modes), "PNG", rng.randint(-1, 1), rng.choice(folders)) for _ in range(rng.randint(0, 400))]
    pruned, whole = Variety(limit), Variety(limit)
    for i, kind in enumerate(rows):
        whole.add(kind, i)
        if pruned.wants(kind):
            pruned.add(kind, i)
        if i % rng.randint(1, 50) == 0:
            pruned.prune()
    pruned.prune()
    assert pruned.chosen() == whole.chosen()
    assert len(whole.chosen()) == min(limit, len(rows))
    assert sum(len(v) for v in pruned.by_kind.values()) < limit + len(pruned.by_kind)  # what it holds stays small
