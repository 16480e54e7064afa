"""Shared helpers for the CNN course notebooks.

Each module is small and tested in ``tests/``:

- :mod:`utils.setup`    -- the one call every notebook's first cell makes (seeds, modes, quiet TF)
- :mod:`utils.plotting` -- ``save_fig`` into ``images/`` and image / feature-map grids
- :mod:`utils.convmath` -- output sizes, receptive fields, parameter and memory counts
- :mod:`utils.data`     -- the data contract: local path -> cache -> download -> labelled stand-in
"""
