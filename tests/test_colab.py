"""The first cell's Colab path, run here with Colab detection forced on and no network.

The cell's `%pip install git+<the repository>` line is executed for real, with the
repository's address pointed at this checkout's git history (what a learner on Colab
gets from GitHub), into a scratch folder instead of the environment's site-packages.
"""
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from utils import course, setup

ROOT = Path(__file__).resolve().parents[1]

DRIVER = textwrap.dedent('''
    import json, shlex, subprocess, sys, types
    site, repo_url, local_url, cell = sys.argv[1:5]
    sys.modules["google.colab"] = types.ModuleType("google.colab")   # pretend to be Colab
    magics, pip_calls = [], []

    class FakeIPython:
        def run_line_magic(self, name, line):
            magics.append([name, line])
            assert name == "pip", name
            args = [a.replace(repo_url, local_url) for a in shlex.split(line)]
            subprocess.run([sys.executable, "-m", "pip", *args, "--no-deps", "--no-build-isolation",
                            "--target", site], check=True)
            sys.path.insert(0, site)

    get_ipython = FakeIPython
    real_run = subprocess.run
    def recording_run(cmd, *args, **kwargs):
        if "pip" in cmd and "--target" not in cmd:
            pip_calls.append(cmd)
            return subprocess.CompletedProcess(cmd, 0)
        return real_run(cmd, *args, **kwargs)
    subprocess.run = recording_run
    exec(compile(open(cell).read(), "first_cell", "exec"))
    import utils.course, utils.setup
    print(json.dumps({"utils": utils.setup.__file__, "magics": magics, "pip": pip_calls, "colab": ENV.colab,
                      "in_checkout": utils.course.IN_CHECKOUT, "images": str(utils.course.images_dir())}))
''')


def test_the_first_cell_is_ipython_that_installs_from_the_course_address():
    python = TransformerManager().transform_cell(course.FIRST_CELL)
    compile(python, "first_cell", "exec")  # valid once IPython has turned %pip into a call
    assert f"run_line_magic('pip', 'install -q git+{course.REPO_URL}')" in python


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs git and a git checkout of the course to install from")
def test_first_cell_on_colab_installs_the_helpers_and_reinstalls_nothing(tmp_path):
    content = tmp_path / "content"  # Colab's working folder: no course in it
    content.mkdir()
    cell = tmp_path / "first_cell.py"
    cell.write_text(TransformerManager().transform_cell(course.FIRST_CELL), encoding="utf-8")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    site = tmp_path / "site"
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path),
           "CNN_COURSE_FAST": "1", "CNN_COURSE_OFFLINE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run([sys.executable, str(driver), str(site), course.REPO_URL, f"file://{ROOT}", str(cell)],
                            cwd=content, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["magics"] == [["pip", f"install -q git+{course.REPO_URL}"]]
    assert Path(report["utils"]).is_relative_to(site), "the helpers came from the installed package"
    assert report["colab"] is True and report["in_checkout"] is False
    assert Path(report["images"]) == content / "build" / "images", "figures go under Colab's working folder"
    assert report["pip"] == [], "everything the course needs is installed here, so nothing may be reinstalled"
    assert "running on Colab" in result.stdout


def test_only_missing_packages_are_installed_and_tensorflow_is_pinned():
    calls = []
    missing = setup.colab_install_missing({"numpy": "numpy", "not_a_module_xyz": "not-a-package-xyz"},
                                          run=lambda cmd, check: calls.append(cmd))
    assert missing == ["not-a-package-xyz"]
    (cmd,) = calls
    assert "numpy" not in cmd and "not-a-package-xyz" in cmd
    assert any(arg.startswith("tensorflow==") for arg in cmd), "pin the TensorFlow that is already there"
    assert setup.colab_install_missing({"numpy": "numpy"}, run=lambda *a, **k: calls.append(a)) == []
    assert len(calls) == 1
