"""Shared helpers for the CNN course notebooks (installed by ``pip install -e .``; on Colab, from git).

Each module owns one thing, says so on its first line, and is tested in ``tests/``:

- :mod:`utils.course`       -- the course's address, folders and the notebooks' first cell
- :mod:`utils.setup`        -- the one call every notebook's first cell makes (seeds, modes, quiet TF)
- :mod:`utils.plotting`     -- ``save_fig`` into ``images/``, ``stamp`` (what made a figure), image grids
- :mod:`utils.checker`      -- the exercises' ``check`` / ``hint`` / ``solution``; definitions in ``utils.exercises``
- :mod:`utils.investigation` -- the investigations: the learner changes one thing, measures and explains
- :mod:`utils.data`         -- the data contract: local path -> cache -> download -> labelled stand-in; MNIST
- :mod:`utils.convmath`, :mod:`utils.convolve`, :mod:`utils.explorer` -- convolution arithmetic and NumPy reference
- :mod:`utils.digits`       -- MNIST digit arrays: to float, padded, shifted (the CNNs: :mod:`lessons.typical_cnn`,
  LeNet-5 in notebook 06: :mod:`lessons.lenet`)
- :mod:`utils.modelstats`   -- a built model's parameter counts (trainable and not) and multiply-adds (the
  architectures themselves are taught in notebooks 07-09: :mod:`lessons.alexnet`, :mod:`lessons.googlenet`,
  :mod:`lessons.resnet`)
- :mod:`utils.training`     -- compile, train and score the small models; per-step callbacks
- :mod:`utils.verdicts`     -- the one rule for a verdict over seeds: a direction, or a tie within seed noise
- :mod:`utils.memory`       -- memory estimates and measured peaks
- :mod:`utils.pretrained`   -- Inception v3 and the ImageNet class index by the data contract
- :mod:`utils.imagefiles`, :mod:`utils.flowers_data`, :mod:`utils.flowers` -- image folders, flower data,
  transfer plumbing
- :mod:`utils.visualize`    -- feature maps, maximally activating inputs, Grad-CAM
"""
