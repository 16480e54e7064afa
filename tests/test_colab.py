"""The first cell's Colab path, run here with Colab detection forced on and no network."""
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from utils import setup

ROOT = Path(__file__).resolve().parents[1]
FIRST_CELL = (ROOT / "tools" / "first_cell.py").read_text(encoding="utf-8")

DRIVER = textwrap.dedent('''
    import json, subprocess, sys, types
    sys.modules["google.colab"] = types.ModuleType("google.colab")   # pretend to be Colab
    pip_calls = []
    real_run = subprocess.run
    def recording_run(cmd, *args, **kwargs):
        if "pip" in cmd:
            pip_calls.append(cmd)
            return subprocess.CompletedProcess(cmd, 0)
        return real_run(cmd, *args, **kwargs)
    subprocess.run = recording_run
    exec(compile(open(sys.argv[1]).read(), "first_cell", "exec"))
    import utils.setup
    print(json.dumps({"root": str(ROOT), "utils": utils.setup.__file__, "pip": pip_calls,
                      "colab": ENV.colab}))
''')


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs git and a git checkout of the course to clone from")
def test_first_cell_on_colab_clones_the_course_and_reinstalls_nothing(tmp_path):
    content = tmp_path / "content"  # Colab's working folder: no course in it yet
    content.mkdir()
    cell = tmp_path / "first_cell.py"
    cell.write_text(FIRST_CELL, encoding="utf-8")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path),
           "CNN_COURSE_REPO_URL": f"file://{ROOT}", "CNN_COURSE_FAST": "1", "CNN_COURSE_OFFLINE": "1"}
    result = subprocess.run([sys.executable, str(driver), str(cell)], cwd=content, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    clone = content / "cnn-course"
    assert (clone / "utils" / "setup.py").is_file(), "the course was not cloned"
    assert Path(report["root"]) == clone and Path(report["utils"]).is_relative_to(clone)
    assert report["colab"] is True
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
