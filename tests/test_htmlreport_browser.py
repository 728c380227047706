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
