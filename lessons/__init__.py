"""The layers, networks and algorithms the chapters teach, generated from the notebooks' ``#@save`` cells.

Each module here is written by ``tools/export_lessons.py`` from one notebook: the chapter that teaches
the code defines it in its own cells, and later chapters and the tests import it from here. Do not
edit these modules; edit the notebook and run ``python tools/export_lessons.py``
(``tests/test_lessons.py`` fails when a module and its notebook differ).
"""
