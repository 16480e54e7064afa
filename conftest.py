"""pytest configuration shared by the unit tests and nbval.

The test command (``pytest``) runs the unit tests in ``tests/`` and executes
every notebook in ``notebooks/`` with nbval, comparing each cell's outputs with
the ones saved in the notebook.
"""
import copy
import os
import tempfile

# The test run is the quick, offline run that CI makes: notebooks read these
# through utils.setup. Set them to 0 to test the full (online) course instead.
os.environ.setdefault("CNN_COURSE_FAST", "1")
os.environ.setdefault("CNN_COURSE_OFFLINE", "1")
# Figures the notebooks save during the test run go to a scratch folder, never over the
# committed images/ (those come from tools/run_notebook.py).
os.environ.setdefault("CNN_COURSE_IMAGES_DIR", tempfile.mkdtemp(prefix="cnn-course-images-"))
# ... and the Keras cache is a fresh folder too: the test run never writes into the learner's ~/.keras
# (notebook 14 saves its fine-tuned model there, and 15 would load a quick run's model, or one that
# another Keras version saved and cannot read).
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="cnn-course-keras-"))


def pytest_collectstart(collector):
    """Leave stderr out of nbval's comparison (and only stderr).

    TensorFlow writes start-up lines to the kernel's stderr that
    TF_CPP_MIN_LOG_LEVEL does not silence, so every cell that imports it would
    differ. stdout, results and display data are still compared.
    """
    skip = getattr(collector, "skip_compare", None)
    if skip is not None and "stderr" not in skip:
        collector.skip_compare = tuple(skip) + ("stderr",)


# --- The re-run check: a learner's habits, in nbval's own kernel -----------------------------
# After nbval has run a notebook's cells in order (its usual check), the same kernel
#   1. re-runs, each on its own, every cell whose output is not compared (the training cells,
#      loader reports, timings): a cell that depends on state a later cell changed fails here;
#   2. runs every cell in order a second time ("Run All" again), comparing each compared
#      output with the stored one exactly as the first pass does.
# These are nbval cell items of their own ("Cell 12 (re-run on its own)", "Cell 3 (second
# Run All)"), so a failure names the step and the cell. `--no-rerun` leaves them out (CI's
# second stack does: the check does not depend on the versions).
RERUN_OPTION = "--no-rerun"


def pytest_addoption(parser):
    parser.addoption(RERUN_OPTION, action="store_true",
                     help="skip the re-run check (re-run each ignored cell, then Run All again)")


def _rerun_items(notebook_items):
    from nbval.plugin import IPyNbCell

    class RerunCell(IPyNbCell):
        def reportinfo(self):
            return self.fspath, 0, f"{self.fspath.relto(self.config.rootdir)}::{self.name}"

        def repr_failure(self, excinfo):
            return f"{self.name}: " + super().repr_failure(excinfo)

    # Each item gets its own copy of the stored cell: nbval's coalesce_streams merges a cell's
    # stored stdout parts in place, so a second comparison against the same object would see
    # the text twice.
    parent = notebook_items[0].parent
    extra = []
    for item in notebook_items:
        if not item.options["check"] and not item.options["skip"]:
            extra.append(RerunCell.from_parent(parent, name=f"{item.name} (re-run on its own)",
                                               cell_num=item.cell_num, cell=copy.deepcopy(item.cell),
                                               options=item.options))
    for item in notebook_items:
        extra.append(RerunCell.from_parent(parent, name=f"{item.name} (second Run All)",
                                           cell_num=item.cell_num, cell=copy.deepcopy(item.cell),
                                           options=item.options))
    return extra


def pytest_collection_modifyitems(session, config, items):
    """Append the re-run items after each notebook's own cells (same parent, same kernel)."""
    if config.getoption(RERUN_OPTION) or not config.getoption("nbval", default=False):
        return
    from nbval.plugin import IPyNbCell

    ordered, group = [], []
    for item in items + [None]:
        if group and (item is None or not isinstance(item, IPyNbCell) or item.parent is not group[0].parent):
            ordered.extend(group + _rerun_items(group))
            group = []
        if item is None:
            break
        if isinstance(item, IPyNbCell):
            group.append(item)
        else:
            ordered.append(item)
    items[:] = ordered
