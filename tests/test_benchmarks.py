"""The benchmark scripts run and print their results table (a smoke test: tiny sizes, CPU)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


def test_inception_throughput_help_and_smoke_run():
    assert "images/s" in run("inception_throughput.py", "--help").stdout
    result = run("inception_throughput.py", "--image-size", "75", "--batch-sizes", "2", "--steps", "1",
                 "--warmup", "1", "--precisions", "float32", "--no-jit")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| float32 | 2 |")]
    assert len(rows) == 1 and float(rows[0].split("|")[3].replace(",", "")) > 0


def test_inception_throughput_rejects_too_small_images():
    result = run("inception_throughput.py", "--image-size", "32")
    assert result.returncode != 0 and "at least 75x75" in result.stderr


def test_train_flops_assumption():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import inception_throughput

    assert round(inception_throughput.train_flops_per_image(299) / 1e9, 1) == 34.3


def test_flowers_pipeline_help():
    result = run("flowers_pipeline.py", "--help")
    assert result.returncode == 0 and "naive" in result.stdout
