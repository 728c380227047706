"""The HTML scan report in headless Chromium: what a person sees is what the report says.

Needs Debian's ``chromium`` and the ``playwright`` package (pointed at it through
``executable_path``; ``playwright install`` cannot download browsers here). One browser
for the module. ``PIPEGUARD_WRITE_SCREENSHOT=1`` also writes docs/scan-report.png.
"""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import REPO
from test_htmlreport import SCRIPT_NAME, _planted

import pipeguard as pg

pytestmark = pytest.mark.slow
pytest.importorskip("jinja2")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (apt-get install chromium)", allow_module_level=True)

CONTRACT = pg.Contract(channels=3, size=(64, 64))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
# the mean brightness of an <img> as the browser decoded it, read back from a canvas
MEAN_BRIGHTNESS = """img => {
  const c = document.createElement("canvas");
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext("2d"); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = 0; for (let i = 0; i < d.length; i += 4) s += (d[i] + d[i + 1] + d[i + 2]) / 3;
  return s / (d.length / 4);
}"""


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Visit:
    """A page opened from a file, with what went wrong while it loaded."""

    def __init__(self, browser, path, **options):
        self.page = browser.new_page(**options)
        self.errors, self.requests, self.dialogs = [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.as_uri(), wait_until="load")

    def files(self) -> dict[str, str]:
        return self.page.eval_on_selector_all(
            "[data-path]", "els => Object.fromEntries(els.map(e => [e.dataset.path, e.dataset.status]))")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = _planted(tmp_path_factory.mktemp("planted") / "data")
    report = pg.scan(root, contract=CONTRACT)
    page = root.parent / "report.html"
    report.to_html(page)
    return report, page


@pytest.fixture(scope="module")
def visit(browser, planted):
    v = Visit(browser, planted[1])
    yield v
    v.page.close()


def test_page_loads_with_no_errors_and_nothing_from_outside(visit):
    assert visit.errors == [] and visit.dialogs == []
    outside = [u for u in visit.requests if not u.startswith(("file://", "data:"))]
    assert outside == []
    assert visit.page.locator("svg").count() >= 2


def test_summary_counts_are_the_reports(visit, planted):
    report = planted[0]
    shown = visit.page.eval_on_selector_all(
        "#summary [data-count]", "els => Object.fromEntries(els.map(e => [e.dataset.count, +e.textContent]))")
    assert shown == report.counts


def test_every_problem_file_is_listed_with_its_status(visit, planted):
    rows = [r for r in planted[0].rows() if r["status"] != "ok"]
    assert len(rows) == 16  # fixtures' 15 and the script-named file
    assert visit.files() == {r["path"]: r["status"] for r in rows}


def test_every_thumbnail_of_a_decodable_file_has_loaded(visit, planted):
    widths = visit.page.eval_on_selector_all(
        "img[data-view]", "els => els.map(e => [e.closest('[data-path]').dataset.path, e.dataset.view, "
                          "e.complete && e.naturalWidth])")
    assert widths and all(w > 0 for _, _, w in widths)
    views = {}
    for path, view, _ in widths:
        views.setdefault(path, set()).add(view)
    violations = [r["path"] for r in planted[0].rows() if r["status"] == "violation"]
    channel_problems = set(planted[0].violations.query("check == 'channels'")["path"])
    for path in violations:
        want = {"file", "default-loader", "fixed"} if path in channel_problems else {"file"}
        assert views[path] == want, path
    broken = visit.page.locator('[data-path="cats/cat_truncated.jpg"]')
    assert broken.locator("img").count() == 0
    assert "truncated" in broken.locator("[data-placeholder]").inner_text()


def test_the_default_loader_turns_a_16_bit_image_white_and_the_fix_does_not(visit):
    item = visit.page.locator('[data-path="cats/cat_gray16.png"]')
    loader = item.locator('img[data-view="default-loader"]').evaluate(MEAN_BRIGHTNESS)
    fixed = item.locator('img[data-view="fixed"]').evaluate(MEAN_BRIGHTNESS)
    original = item.locator('img[data-view="file"]').evaluate(MEAN_BRIGHTNESS)
    assert loader > 250
    assert fixed < 200 and abs(fixed - original) < 5


def test_a_script_named_file_shows_as_text(visit):
    assert visit.dialogs == []
    item = visit.page.locator(f'[data-path="{SCRIPT_NAME}"]')
    assert item.count() == 1 and item.get_attribute("data-status") == "violation"
    assert SCRIPT_NAME in item.locator(".path").first.inner_text()
    assert visit.page.locator("script").count() == 0


def test_a_folder_of_1500_problem_files_lists_100_per_reason(browser, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    from PIL import Image

    for i in range(1500):
        Image.new("L", (8, 8), i % 256).save(root / f"{i:04d}.png")
    report = pg.scan(root, contract=CONTRACT)
    report.to_html(tmp_path / "r.html")
    v = Visit(browser, tmp_path / "r.html")
    per_reason = v.page.eval_on_selector_all(
        "[data-reason]", "els => els.map(e => [e.dataset.reason, +e.dataset.count, "
                         "e.querySelectorAll('[data-path]').length])")
    assert per_reason == [["channels", 1500, 100], ["size", 1500, 100]]
    assert v.errors == []
    v.page.close()


# every text of the size chart (tick labels, axis titles, the contract's label) and every circle, as boxes
SIZE_CHART_BOXES = """svg => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {svg: box(svg), texts: [...svg.querySelectorAll(":scope > text")].map(e => [e.textContent, box(e)]),
          circles: [...svg.querySelectorAll("circle")].map(box),
          mark: [...svg.querySelectorAll("text[data-mark]")].map(box)};
}"""
SPAN = (16, 24, 40, 64, 100, 128, 180, 256, 400, 512, 800, 1024, 1500, 2048, 3000, 4000)


def _meet(a, b) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 0 and min(a[3], b[3]) - max(a[1], b[1]) > 0


@pytest.fixture(scope="module")
def sixteen_to_4000(tmp_path_factory):
    """Images from 16 px to 4000 px a side, in both orientations."""
    from PIL import Image

    root = tmp_path_factory.mktemp("span") / "data"
    root.mkdir()
    for i, side in enumerate(SPAN):
        other = SPAN[len(SPAN) - 1 - i]
        Image.new("L", (side, max(16, side // 3))).save(root / f"wide_{side}.png")
        Image.new("L", (min(side, other), side)).save(root / f"tall_{side}.png")
    return root


@pytest.mark.parametrize("size", [(224, 224), (16, 16), (4000, 4000), (16, 4000), (64, 64)])
def test_size_chart_labels_never_meet_each_other_the_circles_or_the_edge(browser, sixteen_to_4000, tmp_path, size):
    page = tmp_path / "r.html"
    pg.scan(sixteen_to_4000, contract=pg.Contract(channels=1, size=size)).to_html(page)
    v = Visit(browser, page)
    got = v.page.locator('svg[data-chart="sizes"]').evaluate(SIZE_CHART_BOXES)
    v.page.close()
    texts = got["texts"]
    assert len(texts) >= 9 and any(t.startswith("4,096") or t.startswith("2,048") for t, _ in texts)
    assert len(got["mark"]) == 1 and got["circles"]
    left, top, right, bottom = got["svg"]
    for label, (x0, y0, x1, y1) in texts:
        assert left <= x0 and x1 <= right and top <= y0 and y1 <= bottom, f"{label!r} runs off the chart"
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1:]:
            assert not _meet(box_a, box_b), f"{a!r} and {b!r} overlap"
    for circle in got["circles"]:
        assert not _meet(got["mark"][0], circle), "the contract's label is drawn over a circle"


def test_a_16_px_icon_is_shown_at_the_thumbnail_size_pixel_by_pixel(browser, tmp_path):
    from PIL import Image

    from pipeguard.htmlreport._thumbnails import SIDE

    root = tmp_path / "data"
    root.mkdir()
    Image.new("RGBA", (16, 16), (200, 0, 0, 255)).save(root / "icon.png")
    Image.new("LA", (16, 8), (90, 255)).save(root / "strip.png")
    Image.new("RGBA", (400, 200), (0, 200, 0, 255)).save(root / "photo.png")
    pg.scan(root, contract=pg.Contract(channels=3)).to_html(tmp_path / "r.html")
    v = Visit(browser, tmp_path / "r.html")
    shown = dict(v.page.eval_on_selector_all(
        'img[data-view="file"]', "els => els.map(e => [e.closest('[data-path]').dataset.path, "
        "[e.naturalWidth, e.naturalHeight, e.getBoundingClientRect().width, e.getBoundingClientRect().height, "
        "getComputedStyle(e).imageRendering]])"))
    v.page.close()
    assert shown["icon.png"] == [16, 16, SIDE, SIDE, "pixelated"]
    assert shown["strip.png"] == [16, 8, SIDE, SIDE // 2, "pixelated"]
    assert shown["photo.png"][:4] == [SIDE, SIDE // 2, SIDE, SIDE // 2]  # shrunk, not scaled


@pytest.mark.skipif(os.environ.get("PIPEGUARD_WRITE_SCREENSHOT") != "1",
                    reason="set PIPEGUARD_WRITE_SCREENSHOT=1 to write docs/scan-report.png")
def test_write_the_readme_screenshot(browser, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the page names the folder as `make scan` gives it
    page = tmp_path / "fixtures-report.html"
    pg.scan("fixtures", contract=CONTRACT).to_html(page)
    v = Visit(browser, page, viewport={"width": 1200, "height": 1400})
    (REPO / "docs").mkdir(exist_ok=True)
    v.page.screenshot(path=str(REPO / "docs" / "scan-report.png"))
    assert v.errors == []
