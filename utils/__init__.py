"""Shared helpers for the CNN course notebooks (installed by ``pip install -e .``; on Colab, from git).

Each module owns one thing, says so on its first line, and is tested in ``tests/``:

- :mod:`utils.course`       -- the course's address, folders and the notebooks' first cell
- :mod:`utils.setup`        -- the one call every notebook's first cell makes (seeds, modes, quiet TF)
- :mod:`utils.plotting`     -- ``save_fig`` into ``images/``, ``stamp`` (what made a figure), image grids
- :mod:`utils.checker`      -- the exercises' ``check`` / ``hint`` / ``solution``; definitions in ``utils.exercises``
- :mod:`utils.data`         -- the data contract: local path -> cache -> download -> labelled stand-in; MNIST
- :mod:`utils.convmath`, :mod:`utils.convolve`, :mod:`utils.explorer` -- convolution arithmetic and NumPy reference
- :mod:`utils.pooling`      -- pooling Keras does not ship (depth-wise, L2, anti-aliased)
- :mod:`utils.lenet`        -- LeNet-5 and the MNIST CNNs (Nielsen's, the typical pattern, a dense baseline)
- :mod:`utils.architectures`, :mod:`utils.resnet` -- AlexNet and GoogLeNet; ResNet
- :mod:`utils.training`     -- compile, train and score the small models; per-step callbacks
- :mod:`utils.memory`       -- memory estimates and measured peaks
- :mod:`utils.pretrained`   -- Inception v3 and the ImageNet class index by the data contract
- :mod:`utils.imagefiles`, :mod:`utils.flowers_data`, :mod:`utils.flowers` -- image folders, flower data,
  transfer plumbing
- :mod:`utils.visualize`    -- feature maps, maximally activating inputs, Grad-CAM
"""
