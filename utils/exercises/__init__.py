"""Exercise definitions, one module per notebook (``chNN.py`` for notebook NN), exposed as ``q1``, ``q2``, ...

Each module holds the reference solutions, hints and planted mistakes; the notebooks only import them,
so no solution appears in a notebook. ``tests/test_exercises.py`` checks every exercise here.
"""
