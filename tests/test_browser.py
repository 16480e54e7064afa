"""The learner's path in a real browser: JupyterLab on 127.0.0.1, driven by headless Chromium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them)
and the ``selenium`` package; without them the tests skip and say why. The
notebooks run in a copy of the course, so the checkout is never modified.
Screenshots land in ``tests/artifacts/``.
"""
from __future__ import annotations

import json
import os
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
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
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
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    if driver is not None and shot:
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"{shot}-timeout.png"))
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def open_notebook(driver, lab, name: str):
    driver.get(f"{lab['base']}/lab/tree/notebooks/{name}?token={lab['token']}")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Cell"), 120,
             "the notebook to render", driver, name)
    wait_for(lambda: "Idle" in driver.execute_script(
        "return Array.from(document.querySelectorAll('.jp-StatusBar-TextItem, .jp-Toolbar-kernelStatus,"
        " [data-status]')).map(e => (e.textContent || '') + ' ' + (e.getAttribute('data-status') || '')).join(' ')")
        or driver.find_elements(By.CSS_SELECTOR, ".jp-Toolbar-kernelStatus[data-status='idle'],"
                                                 " .jp-Notebook-ExecutionIndicator[data-status='idle']"),
        120, "the kernel to start", driver, name)


def run_all_cells(driver, name: str):
    def click_menu(label, css):
        items = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.text.strip() == label]
        if not items:
            return False
        items[0].click()
        return True

    wait_for(lambda: click_menu("Run", ".lm-MenuBar-itemLabel"), 30, "the Run menu", driver, name)
    wait_for(lambda: click_menu("Run All Cells", ".lm-Menu-itemLabel"), 30, "'Run All Cells'", driver, name)


def prompts(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell"
        " .jp-InputPrompt')).map(e => e.textContent.trim())")


def finished(driver) -> bool:
    marks = prompts(driver)
    return bool(marks) and all(any(ch.isdigit() for ch in m) for m in marks)


def test_a_notebook_runs_through_the_jupyterlab_ui(lab, browser):
    name = "01_convolution.ipynb"
    open_notebook(browser, lab, name)
    run_all_cells(browser, name)
    wait_for(lambda: finished(browser), 300, "every cell to run", browser, name)
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


@pytest.mark.skipif(not (ROOT / "notebooks" / EXPLORER).exists(), reason=f"{EXPLORER} is not in this checkout")
def test_moving_a_slider_changes_the_printed_output_shape(lab, browser):
    open_notebook(browser, lab, EXPLORER)
    run_all_cells(browser, EXPLORER)
    wait_for(lambda: finished(browser), 300, "every cell to run", browser, EXPLORER)
    sliders = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle"), 60,
                       "the explorer's sliders", browser, EXPLORER)

    def explorer_text():
        return browser.execute_script(
            "const w = Array.from(document.querySelectorAll('.widget-interact, .jupyter-widgets-output-area'));"
            " return w.map(e => e.textContent).join('\\n')")

    before = wait_for(lambda: "output" in explorer_text().lower() and explorer_text(), 60,
                      "the explorer's printed output", browser, EXPLORER)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", sliders[0])
    sliders[0].click()
    for _ in range(3):
        sliders[0].send_keys(Keys.ARROW_RIGHT)
    after = wait_for(lambda: explorer_text() != before and explorer_text(), 60,
                     "the printed output to change after moving the slider", browser, EXPLORER)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "jupyterlab_02_explorer.png"))
    assert before != after
