"""The learner's path in a real browser: JupyterLab on 127.0.0.1, driven by headless Chromium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them)
and the ``selenium`` package; without them the tests skip and say why. The
notebooks run in a copy of the course, so the checkout is never modified.
Screenshots land in ``tests/artifacts/``.
"""
from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# How long a step may take. CI's machine has 2 cores and runs other tests (and other people's
# work) beside the browser: under that load JupyterLab has taken over a minute to render the
# widgets of a notebook that just ran, so every wait is on a condition, with room to spare.
PAGE_TIMEOUT = 180     # the notebook renders, the kernel starts, the Run menu answers
RUN_TIMEOUT = 420      # every cell of a notebook runs
WIDGET_TIMEOUT = 180   # the widgets render; the printed output follows the slider
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the whole module skips below
    webdriver = None

pytestmark = [
    pytest.mark.skipif(webdriver is None, reason="selenium is not installed (pip install -r requirements.txt)"),
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="Chromium and ChromeDriver are not installed (apt-get install chromium chromium-driver)"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of the course on 127.0.0.1 with a token."""
    course = tmp_path_factory.mktemp("course")
    for folder in ("notebooks", "utils", "images"):
        shutil.copytree(ROOT / folder, course / folder, ignore=shutil.ignore_patterns("__pycache__"))
    # The copies store no outputs or execution counts, so a cell's prompt shows a number only
    # once this run has executed it (see finished()).
    for path in (course / "notebooks").glob("*.ipynb"):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(course / ".jupyter"), JUPYTER_RUNTIME_DIR=str(course / ".runtime"))
    log = open(course / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
         "--allow-root", "--LabApp.extension_manager=readonly",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                json.load(response)
            break
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (course / "jupyterlab.log").read_text()[-3000:])
            time.sleep(0.5)
    yield {"base": base, "token": token, "course": course}
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def wait_for(predicate, timeout: float, what: str, driver=None, shot: str | None = None):
    """Poll ``predicate`` (WebDriverWait) until it returns something true; fail with a screenshot."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5).until(lambda _: predicate())
    except TimeoutException:
        if driver is not None and shot:
            ARTIFACTS.mkdir(exist_ok=True)
            driver.save_screenshot(str(ARTIFACTS / f"{shot}-timeout.png"))
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def accept_kernel_dialog(driver) -> bool:
    """Click "Select" in JupyterLab's "Select Kernel" dialog, if it is open (what a learner does).

    Under load the server can drop the kernel's first websocket (jupyter_server logs
    ``'NoneType' object has no attribute 'kernel_ws_protocol'``) and JupyterLab then asks
    which kernel to use; the notebook's own kernel (python3) is preselected.
    """
    return bool(driver.execute_script(
        "const d = Array.from(document.querySelectorAll('.jp-Dialog'))"
        ".find(e => (e.textContent || '').includes('Select Kernel'));"
        " if (!d) return false; const b = d.querySelector('.jp-Dialog-button.jp-mod-accept');"
        " if (b) b.click(); return !!b;"))


def kernel_ready(driver, lab, name: str) -> bool:
    """The notebook's session has a kernel that the server reports idle, and the page shows it."""
    accept_kernel_dialog(driver)
    try:
        with urllib.request.urlopen(f"{lab['base']}/api/sessions?token={lab['token']}", timeout=5) as response:
            sessions = json.load(response)
    except OSError:
        return False
    idle = any(s.get("path", "").endswith(name) and (s.get("kernel") or {}).get("execution_state") == "idle"
               for s in sessions)
    # The page: the open notebook's toolbar names its kernel, and shows it idle.
    toolbar = driver.execute_script(
        "const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');"
        " if (!p) return '';"
        " const t = p.querySelector('.jp-Toolbar'); const s = p.querySelector('.jp-Toolbar-kernelStatus,"
        " .jp-Notebook-ExecutionIndicator');"
        " return (t ? t.textContent : '') + ' | ' + (s ? (s.getAttribute('data-status') || s.title || '') : '');")
    return idle and "No Kernel" not in toolbar and "Python" in toolbar and "idle" in toolbar.lower()


def open_notebook(driver, lab, name: str):
    driver.get(f"{lab['base']}/lab/tree/notebooks/{name}?token={lab['token']}")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Cell"), PAGE_TIMEOUT,
             "the notebook to render", driver, name)
    wait_for(lambda: kernel_ready(driver, lab, name), PAGE_TIMEOUT, "the kernel to start", driver, name)


def run_all_cells(driver, name: str):
    def click_menu(label, css):
        items = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.text.strip() == label]
        if not items:
            return False
        items[0].click()
        return True

    wait_for(lambda: click_menu("Run", ".lm-MenuBar-itemLabel"), PAGE_TIMEOUT, "the Run menu", driver, name)
    wait_for(lambda: click_menu("Run All Cells", ".lm-Menu-itemLabel"), PAGE_TIMEOUT, "'Run All Cells'", driver, name)


def run_notebook_through_the_ui(driver, lab, name: str, attempts: int = 2):
    """Open, Run All, and wait until every cell has run.

    If JupyterLab loses the kernel's connection and asks for a kernel (see
    accept_kernel_dialog), select it and Run All again, as a learner would; once.
    """
    open_notebook(driver, lab, name)
    for attempt in range(attempts):
        run_all_cells(driver, name)
        state = wait_for(lambda: ("dialog" if accept_kernel_dialog(driver) else finished(driver) and "done"),
                         RUN_TIMEOUT, "every cell to run", driver, name)
        if state == "done":
            return
        print(f"{name}: JupyterLab asked for a kernel during Run All (attempt {attempt + 1}); selected it")
        wait_for(lambda: kernel_ready(driver, lab, name), PAGE_TIMEOUT, "the kernel to start again", driver, name)
    pytest.fail(f"{name}: JupyterLab kept losing the kernel's connection ({attempts} attempts)")


def prompts(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell"
        " .jp-InputPrompt')).map(e => e.textContent.trim())")


def finished(driver) -> bool:
    marks = prompts(driver)
    return bool(marks) and all(any(ch.isdigit() for ch in m) for m in marks)


def test_a_notebook_runs_through_the_jupyterlab_ui(lab, browser):
    name = "01_convolution.ipynb"
    run_notebook_through_the_ui(browser, lab, name)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "jupyterlab_01_convolution.png"))

    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, ".jp-RenderedMarkdown h1")]
    assert any(h.startswith("1. Convolution") for h in headings), headings
    figures = browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img")
    assert figures, "the notebook's figure did not render"
    outputs = browser.execute_script(
        "return Array.from(document.querySelectorAll('.jp-OutputArea-output')).map(e => e.textContent)")
    assert any("loop == correlate2d: True" in text for text in outputs)
    tracebacks = [text for text in outputs if "Traceback" in text]
    notebook = json.loads((ROOT / "notebooks" / name).read_text())
    expected = sum("raises-exception" in c.get("metadata", {}).get("tags", []) for c in notebook["cells"])
    assert len(tracebacks) == expected, f"unexpected error output: {tracebacks}"


EXPLORER = "02_receptive_fields_padding_stride.ipynb"


# The slider's handle: noUiSlider in ipywidgets 8, jQuery UI in ipywidgets 7.
SLIDER_HANDLES = ".widget-slider .noUi-handle, .widget-slider .ui-slider-handle"


def expected_explorer_text(driver, explorer_text: str) -> str | None:
    """What the explorer must print for the sliders' values now, computed by the course's own code.

    The sliders are input size, kernel and stride (their readouts); the padding is read
    from the printed set-up line (the dropdown is not moved).
    """
    from utils import explorer

    readouts = driver.execute_script(
        "return Array.from(document.querySelectorAll('.widget-interact .widget-slider .widget-readout'))"
        ".map(e => (e.value !== undefined && e.value !== '' ? e.value : e.textContent).trim())")
    padding = re.search(r"padding (.+?): zeros", explorer_text)
    if len(readouts) < 3 or not all(r.isdigit() for r in readouts[:3]) or not padding:
        return None
    size, kernel, stride = (int(r) for r in readouts[:3])
    try:
        return explorer.describe(size, kernel, stride, ast.literal_eval(padding.group(1)))
    except ValueError:  # a setting that cannot work prints "not possible: ..." instead
        return None


@pytest.mark.skipif(not (ROOT / "notebooks" / EXPLORER).exists(), reason=f"{EXPLORER} is not in this checkout")
def test_moving_a_slider_changes_the_printed_output_shape(lab, browser):
    run_notebook_through_the_ui(browser, lab, EXPLORER)
    sliders = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, SLIDER_HANDLES), WIDGET_TIMEOUT,
                       "the explorer's sliders", browser, EXPLORER)

    def explorer_text():
        return browser.execute_script(
            "const w = Array.from(document.querySelectorAll('.widget-interact, .jupyter-widgets-output-area'));"
            " return w.map(e => e.textContent).join('\\n')")

    def shows(text: str | None) -> bool:
        # textContent joins the printed lines without their line breaks
        return bool(text) and text.replace("\n", "") in explorer_text().replace("\n", "")

    before = explorer_text()
    start = wait_for(lambda: (expected := expected_explorer_text(browser, explorer_text())) and shows(expected)
                     and expected, WIDGET_TIMEOUT, "the explorer's printed output for its first setting",
                     browser, EXPLORER)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", sliders[0])
    sliders[0].click()
    for _ in range(3):
        sliders[0].send_keys(Keys.ARROW_RIGHT)
    # The condition: the slider moved, and the printed output is what the course computes for
    # its new value (describe(...) for the readouts), not merely different text.
    after = wait_for(lambda: (expected := expected_explorer_text(browser, explorer_text())) and expected != start
                     and shows(expected) and expected, WIDGET_TIMEOUT,
                     "the printed output to follow the slider", browser, EXPLORER)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "jupyterlab_02_explorer.png"))
    assert start.splitlines()[0].startswith("input ") and after != start, (before, start, after)
    assert int(after.split("x", 1)[0].removeprefix("input ")) > int(start.split("x", 1)[0].removeprefix("input "))
