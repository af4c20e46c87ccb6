"""The explorers in a real browser: Voila and JupyterLab pages driven in Chromium by playwright.

For every notebook in ``notebooks/`` that builds an explorer (a class of
``vgwidgets.widgets.__all__`` that subclasses ``Explorer``), Voila serves the notebook's cells up
to and including the first cell that builds one (nbval runs every cell; this file tests what a
learner sees and touches). Chromium, driven by playwright through Debian's ``/usr/bin/chromium``
(no browser download), waits for the widgets, moves each slider of the explorer with the keyboard
until one changes the plotted image (the ``<img>``'s ``src``), and checks that no error message
or traceback is on the page. One whole lesson is opened in JupyterLab and run as a learner runs it
(Run > Run All Cells); then its explorer's sliders must read the values that a fresh explorer, built
by the lesson's ``explorer = vg.X(...)`` expression, has (issue 14), and it is driven the same way.

On failure the page's screenshot, its console log and the server's log are saved under
``artifacts/browser/``. Without chromium, playwright or voila these tests skip, saying what is
missing; under CI (``CI=true``) a missing piece is an error instead (``make test``
installs them).
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
# Overridable, so that a test can point these tests at a deliberately broken notebook.
NOTEBOOKS = sorted(
    Path(os.environ.get("VGWIDGETS_BROWSER_NOTEBOOKS", ROOT / "notebooks")).glob("*.ipynb")
)
ARTIFACTS = Path(os.environ.get("VGWIDGETS_BROWSER_ARTIFACTS", ROOT / "artifacts" / "browser"))
CHROMIUM = os.environ.get("VGWIDGETS_CHROMIUM", "/usr/bin/chromium")
# What a root user in a container with no network needs (shared/FIELD_NOTES.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SLIDER_HANDLES = ".noUi-handle, .ui-slider-handle"  # ipywidgets 8, ipywidgets 7
ERROR_TEXT = re.compile(r"Traceback|\b[A-Z]\w*(?:Error|Exception)\b")
PAGE_TIMEOUT_MS = 180_000  # Voila runs the cells before it sends the page
UPDATE_TIMEOUT_MS = 30_000


def _missing() -> list[str]:
    missing = [
        f"the Python package {name} (pip install -e '.[browser]')"
        for name in ("playwright", "voila", "jupyterlab")
        if importlib.util.find_spec(name) is None
    ]
    if not Path(CHROMIUM).exists():
        missing.append(
            f"Chromium at {CHROMIUM} (apt-get install chromium, or set VGWIDGETS_CHROMIUM)"
        )
    return missing


MISSING = _missing()
if MISSING:
    message = "browser tests need " + "; ".join(MISSING)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}. Under CI they must run: `make test` installs them (the browser "
                    "extra, and chromium in its browser-deps target).", pytrace=False)  # fmt: skip
    pytest.skip(message, allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402 (after the skip above)

from vgwidgets import widgets as vgw  # noqa: E402
from vgwidgets.widgets import Explorer  # noqa: E402
from vgwidgets.widgets._training_explorer import WAITS_FOR_TRAIN  # noqa: E402

EXPLORERS = sorted(
    name
    for name in vgw.__all__
    if inspect.isclass(getattr(vgw, name)) and issubclass(getattr(vgw, name), Explorer)
)
BUILDS = re.compile(rf"\b(?:{'|'.join(EXPLORERS)})\s*\(")


def _trimmed(path: Path):
    """The notebook up to its first cell that builds an explorer, or ``None`` if none does."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and BUILDS.search(cell.source):
            nb.cells = nb.cells[: index + 1]
            return nb
    return None


WIDGET_NOTEBOOKS = [path for path in NOTEBOOKS if _trimmed(path) is not None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(home: Path) -> dict:
    env = dict(os.environ, MPLBACKEND="Agg", JAX_PLATFORMS="cpu")
    # Keep Jupyter's settings, workspaces and runtime files out of the user's home.
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]:  # fmt: skip
        env[var] = str(home / sub)
    return env


@contextlib.contextmanager
def _server(args: list[str], home: Path, log: Path):
    """Start a Jupyter server on a free port, wait until it answers, yield its base URL."""
    port = _free_port()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", *args, f"--port={port}"],
            cwd=home, env=_server_env(home), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{args[0]} exited: {log.read_text()[-3000:]}")
                try:
                    urllib.request.urlopen(url, timeout=2).close()
                    break
                except urllib.error.HTTPError:  # it answers, if not with a page
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{args[0]} did not answer: {log.read_text()[-3000:]}")
                    time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder holding the trimmed notebooks, and the Voila server that serves it."""
    home = tmp_path_factory.mktemp("browser")
    for path in WIDGET_NOTEBOOKS:
        nbformat.write(_trimmed(path), home / path.name)
    args = ["voila", "--no-browser", "--Voila.ip=127.0.0.1", f"--Voila.root_dir={home}",
            "--VoilaConfiguration.show_tracebacks=True"]  # fmt: skip
    with _server(args, home, home / "voila.log") as url:
        yield home, url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@contextlib.contextmanager
def _page(browser, name: str, server_log: Path):
    """A fresh page; on failure its screenshot, console log and the server's log go to artifacts."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UPDATE_TIMEOUT_MS)
    console = []
    page.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    page.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    try:
        yield page
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        (ARTIFACTS / f"{name}.console.log").write_text("\n".join(console) + "\n")
        with contextlib.suppress(OSError):
            shutil.copy(server_log, ARTIFACTS / f"{name}.server.log")
        raise
    finally:
        context.close()


def _src(image) -> str:
    return image.evaluate("e => e.src")


def _assert_no_error(page, explorer) -> None:
    for where, text in [("explorer", explorer.inner_text()), ("page", page.inner_text("body"))]:
        found = ERROR_TEXT.findall(text) if where == "explorer" else re.findall("Traceback", text)
        assert not found, f"error text in the {where}: {found}\n{text[-2000:]}"


def _move_a_slider(page, explorer, image) -> None:
    """Press End (or Home, at the end already) on each slider until the image changes."""
    handles = explorer.locator(SLIDER_HANDLES)
    assert handles.count() > 0, "the explorer shows no slider"
    for index in range(handles.count()):
        handle = handles.nth(index)
        if handle.locator(f"xpath=ancestor::*[contains(@class, '{WAITS_FOR_TRAIN}')]").count():
            continue  # a setting of the next run (TrainingExplorer): it redraws nothing
        readout = handle.locator(
            "xpath=ancestor::div[contains(@class, 'widget-slider')][1]"
        ).locator(".widget-readout")
        for key in ("End", "Home"):
            before_src, before_value = _src(image), readout.inner_text()
            handle.focus()
            handle.press(key)
            if readout.inner_text() == before_value:
                continue  # at that end already, or a disabled slider
            # The kernel recomputes and sends a new PNG, or an error message.
            with contextlib.suppress(Exception):
                page.wait_for_function(
                    "([img, src, box, pattern]) => img.src !== src"
                    " || new RegExp(pattern).test(box.innerText)",
                    arg=[image.element_handle(), before_src, explorer.element_handle(),
                         ERROR_TEXT.pattern],
                )  # fmt: skip
            _assert_no_error(page, explorer)
            assert _src(image) != before_src, (
                f"slider {index} moved from {before_value} to {readout.inner_text()}, "
                "but the plotted image stayed the same"
            )
            return
    raise AssertionError("no slider of the explorer could be moved with the keyboard")


def _drive(page, name: str) -> None:
    """Find the first explorer on ``page``, move a slider, check the image and the error area."""
    image = page.locator("img.widget-image").first
    image.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function("e => e.src.startsWith('blob:') && e.naturalWidth > 0",
                           arg=image.element_handle())  # fmt: skip
    explorer = image.locator("xpath=..")  # the explorer's VBox: controls, image, summary, status
    # A run still training (TrainingExplorer's progress bar) has nothing to scrub yet.
    page.wait_for_function(
        "box => [...box.querySelectorAll('progress')].every(p => p.value >= p.max)",
        arg=explorer.element_handle(), timeout=PAGE_TIMEOUT_MS,
    )  # fmt: skip
    _assert_no_error(page, explorer)
    _move_a_slider(page, explorer, image)
    page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=image.element_handle())
    _assert_no_error(page, explorer)


@pytest.mark.browser
@pytest.mark.parametrize("path", WIDGET_NOTEBOOKS, ids=[p.stem for p in WIDGET_NOTEBOOKS])
def test_voila_page_redraws_when_a_slider_moves(site, browser, path):
    home, url = site
    with _page(browser, f"voila-{path.stem}", home / "voila.log") as page:
        page.goto(f"{url}/voila/render/{path.name}", timeout=PAGE_TIMEOUT_MS)
        _drive(page, path.stem)


LEARNER = re.compile(r"^\s*explorer\s*=\s*(vg\.\w+\(.*)", re.M | re.S)
# Whole lessons with a learner's widget (notebooks/CONTRIBUTING.md): the JupyterLab case runs one.
LESSONS = [
    path
    for path in NOTEBOOKS
    if any(c.cell_type == "code" and LEARNER.search(c.source)
           for c in nbformat.read(path, as_version=4).cells)  # fmt: skip
]
RUN_ALL_TIMEOUT_MS = 300_000


def _described_sliders(path: Path) -> list[tuple[str, float]]:
    """``(description, value)`` of every slider of a fresh ``explorer`` built as the lesson does."""
    import ast

    import ipywidgets

    import vgwidgets as vg

    nb = nbformat.read(path, as_version=4)
    cell = next(c.source for c in nb.cells if c.cell_type == "code" and LEARNER.search(c.source))
    call = next(
        node.value for node in ast.parse(cell).body
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["explorer"]
    )  # fmt: skip
    fresh = eval(compile(ast.Expression(call), path.name, "eval"), {"vg": vg})  # noqa: S307
    sliders = []

    def walk(widget):
        if isinstance(widget, (ipywidgets.IntSlider, ipywidgets.FloatSlider,
                               ipywidgets.FloatLogSlider)):  # fmt: skip
            sliders.append((widget.description, float(widget.value)))
        for child in getattr(widget, "children", ()):
            walk(child)

    walk(fresh)
    fresh.close()
    return sliders


# Lesson 1 (linear sliders) and lesson 2 (a log slider: the browser snaps its value to the step
# and sends it back, which once turned lesson 2's 0.8 into 0.794).
RUN_ALL_LESSONS = LESSONS[:2]


@pytest.mark.browser
@pytest.mark.skipif(not LESSONS, reason="no lesson builds a learner's explorer")
@pytest.mark.parametrize("path", RUN_ALL_LESSONS, ids=[p.stem for p in RUN_ALL_LESSONS])
def test_jupyterlab_run_all_leaves_the_learner_widget_as_described(browser, tmp_path, path):
    """Run > Run All Cells, as a learner does; then the explorer's sliders read as described."""
    shutil.copy(path, tmp_path / path.name)
    expected = _described_sliders(path)
    assert expected, f"{path.name}: the learner's explorer has no slider"
    args = ["jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", "--ServerApp.token=",
            "--ServerApp.password=", f"--ServerApp.root_dir={tmp_path}", "--allow-root",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.news_url=None"]  # fmt: skip
    log = tmp_path / "lab.log"
    with _server(args, tmp_path, log) as url, _page(browser, f"lab-{path.stem}", log) as page:
        page.goto(f"{url}/lab/tree/{path.name}", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function(
            """() => {
                const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                const kernel = panel && panel.sessionContext && panel.sessionContext.session
                    && panel.sessionContext.session.kernel;
                return kernel && kernel.status === "idle";
            }""",
            timeout=PAGE_TIMEOUT_MS,
        )
        # The menu, as a learner does: Run > Run All Cells.
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        page.wait_for_function(
            """() => {
                const panel = window.jupyterapp.shell.currentWidget;
                const kernel = panel.sessionContext.session.kernel;
                const cells = panel.content.widgets.filter(c => c.model.type === "code");
                const failed = cells.some(c => c.model.outputs.toJSON().some(
                    o => o.output_type === "error"));
                return failed || (kernel.status === "idle" && cells.every(
                    c => c.model.executionCount !== null && !c.hasClass("jp-mod-pending")));
            }""",
            timeout=RUN_ALL_TIMEOUT_MS,
        )
        errors = page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.content.widgets
                .flatMap(c => c.model.type === "code" ? c.model.outputs.toJSON() : [])
                .filter(o => o.output_type === "error").map(o => o.ename + ": " + o.evalue)"""
        )
        assert not errors, f"{path.name}: Run All Cells raised {errors}"
        image = page.locator("img.widget-image").first  # the learner's: no check is displayed
        image.scroll_into_view_if_needed(timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=image.element_handle())
        explorer = image.locator("xpath=..")
        sliders = explorer.locator("div.widget-slider")
        shown = [
            (sliders.nth(i).locator(".widget-label").first.text_content().strip(),
             sliders.nth(i).locator(".widget-readout").first.text_content().strip())
            for i in range(sliders.count())
        ]  # fmt: skip
        assert [d for d, _ in shown] == [d for d, _ in expected], (shown, expected)
        wrong = [
            f"{name} reads {text}, described {value:g}"
            for (name, text), (_, value) in zip(shown, expected)
            if abs(float(text) - value) > 5e-3 * max(abs(value), 1e-3)
        ]
        assert not wrong, f"{path.name} after Run All Cells: " + "; ".join(wrong)
        _drive(page, path.stem)  # and the widget still answers


BROKEN = """\
import vgwidgets as vg

explorer = vg.ChainExplorer()


def broken(self):
    raise RuntimeError("deliberately broken for the test")


type(explorer).compute_and_draw = broken  # the first figure is drawn; every later one fails
explorer
"""


@pytest.mark.browser
@pytest.mark.skipif("VGWIDGETS_BROWSER_NOTEBOOKS" in os.environ, reason="already the inner run")
def test_a_broken_widget_fails_with_a_screenshot(tmp_path):
    """These tests can fail: a widget whose redraw raises fails them and leaves a screenshot."""
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(BROKEN)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nbformat.write(nb, tmp_path / "notebooks" / "broken.ipynb")
    env = dict(os.environ, VGWIDGETS_BROWSER_NOTEBOOKS=str(tmp_path / "notebooks"),
               VGWIDGETS_BROWSER_ARTIFACTS=str(tmp_path / "artifacts"))  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-k", "voila", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 failed" in done.stdout and "RuntimeError" in done.stdout, done.stdout[-3000:]
    assert "deliberately broken" in done.stdout
    screenshot = tmp_path / "artifacts" / "voila-broken.png"
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "artifacts" / "voila-broken.console.log").exists()


DRAG_NOTEBOOK = "01_sigmoid_derivative_product.ipynb"  # a ChainExplorer: the quickest to redraw
DRAG_SECONDS, DRAG_MOVES = 2.0, 40
# noUiSlider (ipywidgets 8) or jQuery UI (7): the track the handle runs along.
SLIDER_TRACK = (
    "xpath=ancestor::div[contains(@class, 'noUi-target') or contains(@class, 'ui-slider')][1]"
)
RECORD_SRC = """img => {
    window.__srcs = [];
    new MutationObserver(() => window.__srcs.push([performance.now(), img.src]))
        .observe(img, {attributes: true, attributeFilter: ["src"]});
}"""
IMAGE_BYTES = """async img => {
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let text = "";
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text);
}"""


def _fresh_png(path: Path, description: str, value: float) -> bytes:
    """The PNG of the notebook's first explorer, built afresh here with one slider set."""
    import vgwidgets as vg
    from vgwidgets import bench

    source = _trimmed(path).cells[-1].source
    namespace = {"vg": vg}
    exec(compile(source, path.name, "exec"), namespace)  # noqa: S102 (our own notebook)
    fresh = next(v for v in namespace.values() if isinstance(v, Explorer))
    try:
        (slider,) = [s for s in bench.sliders(fresh).values() if s.description == description]
        slider.value = value
        assert fresh.error is None, fresh.error
        return fresh.png
    finally:
        fresh.close()


@pytest.mark.browser
@pytest.mark.skipif(DRAG_NOTEBOOK not in [p.name for p in WIDGET_NOTEBOOKS], reason="no lesson 1")
def test_voila_image_follows_a_mouse_drag_and_settles_on_release(site, browser):
    """Drag a slider with the mouse for 2 s: the image changes several times on the way, and
    within 1 s of the release it shows the final value's figure (the one a fresh explorer draws
    at that value) and changes no more."""
    import base64

    home, url = site
    path = next(p for p in WIDGET_NOTEBOOKS if p.name == DRAG_NOTEBOOK)
    with _page(browser, f"voila-drag-{path.stem}", home / "voila.log") as page:
        page.goto(f"{url}/voila/render/{path.name}", timeout=PAGE_TIMEOUT_MS)
        image = page.locator("img.widget-image").first
        image.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function("e => e.src.startsWith('blob:') && e.naturalWidth > 0",
                               arg=image.element_handle())  # fmt: skip
        explorer = image.locator("xpath=..")
        slider = explorer.locator("div.widget-slider").first
        handle, readout = slider.locator(SLIDER_HANDLES), slider.locator(".widget-readout")
        description = slider.locator(".widget-label").first.text_content().strip()
        track = handle.locator(SLIDER_TRACK).bounding_box()
        start = handle.bounding_box()
        x0, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
        x1 = track["x"] + 0.75 * track["width"]
        before_value, before_src = readout.inner_text(), _src(image)
        image.evaluate(RECORD_SRC)

        page.mouse.move(x0, y)
        page.mouse.down()
        down = page.evaluate("performance.now()")
        for i in range(1, DRAG_MOVES + 1):
            time.sleep(DRAG_SECONDS / DRAG_MOVES)
            page.mouse.move(x0 + (x1 - x0) * i / DRAG_MOVES, y)
        page.mouse.up()
        up = page.evaluate("performance.now()")

        page.wait_for_timeout(max(0.0, up + 1000 - page.evaluate("performance.now()")))
        at_one_second = _src(image)
        page.wait_for_timeout(2000)
        settled = _src(image)
        changes = page.evaluate("window.__srcs")
        final_value = readout.inner_text()
        _assert_no_error(page, explorer)
        assert final_value != before_value, "the drag did not move the slider"
        during = [t for t, _ in changes if down < t <= up]
        after = [round(t - up) for t, _ in changes if t > up]
        print(f"drag of {description!r} {before_value} -> {final_value}: {len(during)} images "
              f"during {(up - down) / 1000:.1f} s, then at +{after} ms after the release")
        assert len(during) >= 3, f"the image changed {len(during)} times during the drag"
        assert settled != before_src
        assert at_one_second == settled and all(t <= 1000 for t in after), (
            f"the image still changed {after} ms after the release"
        )
        page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=image.element_handle())
        shown = base64.b64decode(image.evaluate(IMAGE_BYTES))
        assert shown == _fresh_png(path, description, float(final_value)), (
            f"the image is not the figure of {description} = {final_value}"
        )
