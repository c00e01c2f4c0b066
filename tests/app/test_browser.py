"""The real app in headless Chromium: every page renders with data, no exception box; a click
on Accept reaches the catalog. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.app.app_helpers import PAGES, free_port, running_app, wait_http

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TITLES = {"overview.py": "Overview", "browse.py": "Browse", "label.py": "Label", "rejected.py": "Rejected",
          "duplicates.py": "Duplicates", "train.py": "Train", "generate.py": "Generate",
          "complete.py": "Complete", "project.py": "Project"}
# A piece of text each page shows only when it has data, and whether it shows images then.
KEY_TEXT = {"overview.py": ("Dataset funnel", True), "browse.py": ("crops · page 1", True),
            "label.py": ("Pollution filter", True), "rejected.py": ("rejected crop", True),
            "duplicates.py": ("kept", True),
            "train.py": ("Samples at step", True), "generate.py": ("Download PNG", True),
            "complete.py": ("PNG, JPEG or WebP", False),
            "project.py": ("Upload an image to project", False)}


@pytest.fixture(scope="module")
def full_ws(curated_ws, trained_ws):
    """The curated workspace with the trained runs, export and promoted model beside its catalog."""
    for name in ("runs", "models", "exports"):
        if not (curated_ws / name).exists():
            shutil.copytree(trained_ws / name, curated_ws / name)
    return curated_ws


def wait_rendered(page, title: str) -> None:
    """The page's title is shown and its script run has finished (no running indicator)."""
    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if page.get_by_role("button", name="Stop").count() == 0:  # shown while the script runs
            break
        time.sleep(0.2)
    time.sleep(0.5)  # images and charts paint after the script ends


def test_every_page_renders_and_accept_writes_the_catalog(full_ws):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (`make system-deps`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    from curation.catalog import open_catalog
    from curation.rescoring import set_label

    ds = open_catalog(full_ws)
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    with running_app(full_ws, port), sync_api.sync_playwright() as p:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health")
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name in PAGES:
                path = "" if name == "overview.py" else name.removesuffix(".py")
                page.goto(f"http://127.0.0.1:{port}/{path}")
                wait_rendered(page, TITLES[name])
                assert page.locator('[data-testid="stException"]').count() == 0, name
                assert page.locator('[data-testid="stAlertContentError"]').count() == 0, name
                text, has_images = KEY_TEXT[name]
                page.get_by_text(text).first.wait_for(timeout=60_000)
                wait_rendered(page, TITLES[name])
                images = page.locator('img[src*="/media/"]')  # st.image serves from /media/
                if has_images:
                    images.first.wait_for(timeout=30_000)
                else:
                    assert images.count() == 0, name
                page.screenshot(path=ARTIFACTS / f"app-{path or 'overview'}.png", full_page=True)

            page.goto(f"http://127.0.0.1:{port}/label")
            wait_rendered(page, "Label")
            page.get_by_role("button", name="Accept").first.click()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "accept" not in ds.values("human_label"):
                time.sleep(0.3)
                ds.reload()
            assert "accept" in ds.values("human_label")
            page.get_by_text("Last: accept").wait_for(timeout=30_000)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()
            for sha in set(ds.values("sha256")):
                set_label(ds, sha, None)


def one_button(page, key: str, text: str, enabled: bool = True):
    """The button of `key` once it shows `text` and the run that drew it has ended (while a
    script reruns, Streamlit keeps the previous run's elements beside the new ones, marked
    stale; a button with help has a hidden twin that measures it)."""
    sel = f'.st-key-{key}[data-stale="false"] button'
    page.wait_for_function(
        "([sel, text, enabled]) => {"
        " const b = [...document.querySelectorAll(sel)].filter(e => e.checkVisibility());"
        " return b.length === 1 && b[0].innerText.includes(text) && b[0].disabled !== enabled; }",
        arg=[sel, text, enabled], timeout=30_000)
    return page.locator(f"{sel}:visible")


@pytest.mark.slow
@pytest.mark.server
def test_rejected_page_select_and_bulk_accept_and_reject(full_ws):
    """The Rejected page in Chromium: tick two crops of the largest group, accept them with the
    A key; select a whole group and reject it with the button; the catalog has the labels.

    The test holds the catalog lock as `studio curate` would, so the server's background
    rescore waits and the planted groups stay as planted while the test looks at them; once it
    lets go, the rescore runs and the page reloads by itself and says what the filter did."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (`make system-deps`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    from filelock import FileLock

    from curation.catalog import open_catalog, set_label
    from curation.decide import refresh_decisions
    from tests.app.test_rejected import PLANTED, plant

    ds = open_catalog(full_ws)
    (full_ws / ".locks").mkdir(exist_ok=True)
    lock = FileLock(full_ws / ".locks" / "catalog.lock")
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()

    def labels() -> dict[str, tuple]:
        ds.reload()
        rows = zip(*ds.values(["sha256", "human_label", "human_reason", "decision"]), strict=True)
        return {s: (lab, reason, d) for s, lab, reason, d in rows}

    def wait_for(check, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, what
            time.sleep(0.3)

    with lock, running_app(full_ws, port), sync_api.sync_playwright() as p:
        shas = plant(ds, PLANTED)
        photo = sorted(s for s, r in shas.items() if r == ["polluted:photo"])
        blurry = sorted(s for s, r in shas.items() if r[0] == "blurry")
        wait_http(f"http://127.0.0.1:{port}/_stcore/health")
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/rejected")
            wait_rendered(page, "Rejected")
            page.get_by_text(f"photo — {len(photo)} crops").wait_for(timeout=60_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            for k, sha in enumerate(photo[:2], start=1):
                page.locator(f".st-key-rj-0-{sha} label").click()
                one_button(page, "rj-accept", f"Accept {k}")
            wait_rendered(page, "Rejected")
            page.screenshot(path=ARTIFACTS / "app-rejected.png", full_page=True)
            page.evaluate("document.activeElement && document.activeElement.blur()")  # off the tick box
            page.keyboard.press("a")  # the Accept button's shortcut
            wait_for(lambda: all(labels()[s][0] == "accept" for s in photo[:2]),
                     "the A key accepted the two ticked crops")
            assert all(labels()[s][2] == "accepted" for s in photo[:2])
            assert all(labels()[s][0] is None for s in photo[2:])
            page.get_by_text(f"photo — {len(photo) - 2} crops").wait_for(timeout=30_000)
            page.get_by_text("Accepted 2 crop(s)").wait_for(timeout=30_000)
            one_button(page, "rj-accept", "Accept 0", enabled=False)

            page.locator(".st-key-rj-all-blurry").get_by_role("button").first.click()
            one_button(page, "rj-reject", f"Reject {len(blurry)}").click()
            wait_for(lambda: all(labels()[s][:2] == ("reject", "blurry") for s in blurry),
                     "Reject labelled the whole group with its rule's name")
            page.get_by_text(f"Rejected {len(blurry)} crop(s) (blurry × {len(blurry)})").wait_for(
                timeout=30_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0

            page.get_by_text("The filter is relearning").wait_for(timeout=30_000)
            lock.release()  # "curate" is done: the background rescore runs, the page reloads
            page.get_by_text("The filter relearned from your labels").wait_for(timeout=90_000)
            assert page.get_by_text("The filter is relearning").count() == 0
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            page.screenshot(path=ARTIFACTS / "app-rejected-end.png", full_page=True)
            browser.close()
            for sha in {s for s, (lab, _, _) in labels().items() if lab}:
                set_label(ds, sha, None)
    refresh_decisions(ds)
