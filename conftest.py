"""pytest configuration shared by the unit tests and nbval.

The test command (``pytest``) runs the unit tests in ``tests/`` and executes
every notebook in ``notebooks/`` with nbval, comparing each cell's outputs with
the ones saved in the notebook.
"""
import os
import tempfile

# The test run is the quick, offline run that CI makes: notebooks read these
# through utils.setup. Set them to 0 to test the full (online) course instead.
os.environ.setdefault("CNN_COURSE_FAST", "1")
os.environ.setdefault("CNN_COURSE_OFFLINE", "1")
# Figures the notebooks save during the test run go to a scratch folder, never over the
# committed images/ (those come from tools/run_notebook.py).
os.environ.setdefault("CNN_COURSE_IMAGES_DIR", tempfile.mkdtemp(prefix="cnn-course-images-"))


def pytest_collectstart(collector):
    """Leave stderr out of nbval's comparison (and only stderr).

    TensorFlow writes start-up lines to the kernel's stderr that
    TF_CPP_MIN_LOG_LEVEL does not silence, so every cell that imports it would
    differ. stdout, results and display data are still compared.
    """
    skip = getattr(collector, "skip_compare", None)
    if skip is not None and "stderr" not in skip:
        collector.skip_compare = tuple(skip) + ("stderr",)
