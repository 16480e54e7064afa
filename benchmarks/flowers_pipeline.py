"""Benchmark: naive vs tuned input pipeline, and cached-feature vs through-the-base head training.

    CNN_COURSE_FLOWERS_DIR=/path/to/flowers python benchmarks/flowers_pipeline.py

Three measurements on local flower photos, side by side in one run, printed as
a results table (Markdown). Within each part the two sides' epochs alternate, so
that load from other jobs on a shared machine hits both alike:

1. **Input pipeline alone**: every training photo read, decoded, resized and
   preprocessed, batch after batch, for ``--epochs`` epochs. *Naive*: decode and
   resize every epoch, a sequential ``map``, no cache, no prefetch. *Tuned*:
   parallel ``map``, the decoded and resized images cached in memory, prefetch.
   Images per second in the steady state (the median of epochs 2 onwards: the
   tuned pipeline fills its cache in epoch 1, whose rate is reported separately).
2. **End to end**: the same epochs training a small CNN fed by each pipeline;
   seconds per epoch (median of epochs 2 onwards; epoch 1 also traces the
   training step).
3. **Head training**: Inception v3's frozen base + pooling + dropout + softmax,
   trained through the base, against the same head trained on bottleneck features
   computed once; seconds per epoch (median of epochs 2 onwards), plus the one-off cost of
   computing the features and the epoch at which caching has paid for itself.

Inception v3 runs with random weights here: the time does not depend on the
values of the weights, and this way the benchmark needs no download.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None,
                        help="flower photos (default: $CNN_COURSE_FLOWERS_DIR, else the Keras cache / download of "
                             "tf_flowers, else -- offline -- the labelled stand-in)")
    parser.add_argument("--image-size", type=int, default=160, help="pipeline and small-CNN image size (160)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size everywhere (32)")
    parser.add_argument("--epochs", type=int, default=6,
                        help="epochs per measurement; the first is excluded and the median of the rest taken (6)")
    parser.add_argument("--max-images", type=int, default=None,
                        help="use at most this many training photos in parts 1-2 (default: all)")
    parser.add_argument("--head-images", type=int, default=256,
                        help="training photos for part 3, through the base (256)")
    parser.add_argument("--head-image-size", type=int, default=128,
                        help="Inception v3 input size for part 3 (128; at least 75)")
    parser.add_argument("--skip", choices=["pipeline", "end-to-end", "head"], action="append", default=[],
                        help="leave a part out (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch is excluded from the steady-state figures")
    if args.head_image_size < 75:
        parser.error("--head-image-size must be at least 75 (Inception v3's smallest input)")
    return args


def steady(seconds: list[float]) -> float:
    """Median seconds of the epochs after the first (the median shrugs off a burst from another job)."""
    return statistics.median(seconds[1:])


def time_pipeline(ds, epochs: int) -> list[float]:
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _batch in ds:
            pass
        times.append(time.perf_counter() - start)
    return times


def small_cnn(image_size: int, num_classes: int, seed: int):
    import keras

    init = keras.initializers.GlorotUniform(seed=seed)
    model = keras.Sequential([
        keras.Input((image_size, image_size, 3)),
        keras.layers.Conv2D(16, 3, strides=2, activation="relu", kernel_initializer=init),
        keras.layers.Conv2D(32, 3, strides=2, activation="relu", kernel_initializer=init),
        keras.layers.Conv2D(64, 3, strides=2, activation="relu", kernel_initializer=init),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=init),
    ], name="small_cnn")
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return model


def fit_epochs(model, ds, epochs: int) -> list[float]:
    from utils import flowers

    timer = flowers.epoch_timer()
    model.fit(ds, epochs=epochs, verbose=0, callbacks=[timer], shuffle=False)  # the pipeline shuffles
    return timer.seconds


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> str:
    if not hasattr(os, "getloadavg"):
        return f"{cpu_name()}, {os.cpu_count()} logical CPUs"
    load = os.getloadavg()
    return (f"{cpu_name()}, {os.cpu_count()} logical CPUs, load average {load[0]:.2f} / {load[1]:.2f} / "
            f"{load[2]:.2f} (1 / 5 / 15 min; above {os.cpu_count()} means other jobs shared the CPUs)")


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from utils import flowers, setup

    setup.quiet_tensorflow()
    setup.seed_everything(args.seed)
    import keras
    import numpy as np
    import tensorflow as tf

    print(f"date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine at start: {machine()}")
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python {platform.python_version()}")
    data = flowers.load_flowers(args.data_dir)
    paths = data.train.paths + data.val.paths
    labels = np.concatenate([data.train.labels, data.val.labels])
    if args.max_images:
        paths, labels = paths[: args.max_images], labels[: args.max_images]
    n = len(paths)
    print(f"{n} photos, {data.num_classes} classes, image size {args.image_size}, batch {args.batch_size}, "
          f"{args.epochs} epochs per measurement (steady state = median of epochs 2-{args.epochs})\n")
    rows = []

    def pipeline(tuned: bool, preprocess="inception", size=args.image_size, subset=None):
        p, lab = (paths, labels) if subset is None else (paths[:subset], labels[:subset])
        return flowers.make_pipeline(p, lab, image_size=size, batch_size=args.batch_size, training=True,
                                     tuned=tuned, preprocess=preprocess, seed=args.seed)

    if "pipeline" not in args.skip:
        # Naive and tuned epochs alternate, so a burst of load from another job hits both sides alike.
        sides = {False: pipeline(False), True: pipeline(True)}
        times = {False: [], True: []}
        for _ in range(args.epochs):
            for tuned, ds in sides.items():
                times[tuned] += time_pipeline(ds, 1)
        naive, tuned = times[False], times[True]
        rows += [
            ("input pipeline alone", "naive (sequential map, decode every epoch, no cache, no prefetch)",
             f"{n / steady(naive):,.0f} images/s", f"epoch 1: {n / naive[0]:,.0f} images/s"),
            ("input pipeline alone", "tuned (parallel map, cache, prefetch)",
             f"{n / steady(tuned):,.0f} images/s", f"epoch 1 (fills the cache): {n / tuned[0]:,.0f} images/s"),
            ("input pipeline alone", "**ratio tuned / naive** (target >= 3x)",
             f"**{steady(naive) / steady(tuned):,.1f}x**",
             f"all {args.epochs} epochs incl. epoch 1: {sum(naive) / sum(tuned):,.1f}x"),
        ]
        print("\n".join(" | ".join(r) for r in rows[-3:]), flush=True)

    if "end-to-end" not in args.skip:
        setup.seed_everything(args.seed)
        models = {tuned: small_cnn(args.image_size, data.num_classes, args.seed) for tuned in (False, True)}
        sides = {False: pipeline(False), True: pipeline(True)}
        results = {False: [], True: []}
        for _ in range(args.epochs):
            for tuned in (False, True):
                results[tuned] += fit_epochs(models[tuned], sides[tuned], 1)
        rows += [
            ("end to end (small CNN)", "naive pipeline", f"{steady(results[False]):.2f} s/epoch",
             f"epoch 1: {results[False][0]:.2f} s"),
            ("end to end (small CNN)", "tuned pipeline", f"{steady(results[True]):.2f} s/epoch",
             f"epoch 1: {results[True][0]:.2f} s"),
            ("end to end (small CNN)", "**ratio naive / tuned**",
             f"**{steady(results[False]) / steady(results[True]):.1f}x**", ""),
        ]
        print("\n".join(" | ".join(r) for r in rows[-3:]), flush=True)

    if "head" not in args.skip:
        size, count = args.head_image_size, min(args.head_images, n)
        setup.seed_everything(args.seed)
        base = keras.applications.InceptionV3(include_top=False, weights=None, input_shape=(size, size, 3))
        model = flowers.build_classifier(data.num_classes, base, image_size=size, augmentation=False,
                                         seed=args.seed)
        flowers.compile_classifier(model, 1e-3)
        images = pipeline(True, size=size, subset=count)
        time_pipeline(images, 1)  # fill the image cache: both sides start from decoded images
        ordered = flowers.make_pipeline(paths[:count], labels[:count], image_size=size,
                                        batch_size=args.batch_size)
        start = time.perf_counter()
        features, feature_labels = flowers.compute_features(flowers.feature_extractor(model), ordered)
        extract = time.perf_counter() - start
        head = flowers.build_head(features.shape[1], data.num_classes, seed=args.seed)
        flowers.compile_classifier(head, 1e-3)
        feature_ds = flowers.feature_dataset(features, feature_labels, batch_size=args.batch_size, training=True,
                                             seed=args.seed)
        through, cached = [], []
        for _ in range(args.epochs):
            through += fit_epochs(model, images, 1)
            cached += fit_epochs(head, feature_ds, 1)
        ratio = steady(through) / steady(cached)
        break_even = extract / max(steady(through) - steady(cached), 1e-9)
        rows += [
            (f"head training ({count} photos, {size}px, Inception v3 frozen)", "through the frozen base",
             f"{steady(through):.2f} s/epoch", f"epoch 1 (with tracing): {through[0]:.2f} s"),
            (f"head training ({count} photos, {size}px, Inception v3 frozen)", "on cached bottleneck features",
             f"{steady(cached) * 1000:.1f} ms/epoch",
             f"one-off feature extraction: {extract:.2f} s (with tracing); pays off after "
             f"{break_even:.1f} epochs"),
            (f"head training ({count} photos, {size}px, Inception v3 frozen)",
             "**ratio through / cached** (target >= 20x)", f"**{ratio:,.0f}x**", ""),
        ]
        print("\n".join(" | ".join(r) for r in rows[-3:]), flush=True)

    print(f"\nmachine at end: {machine()}\n")
    print("| part | setup | result | notes |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\ndata: {data.source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
