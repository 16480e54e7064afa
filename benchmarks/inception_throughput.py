"""Inception v3 training throughput (images/s) for several precisions and batch sizes.

The same Keras model code runs on any Keras 3 backend. The GPU figure of the
course is meant to be taken with Keras on JAX (TensorFlow's wheels are too
large to carry to the lent GPU machine):

    KERAS_BACKEND=jax python benchmarks/inception_throughput.py \\
        --precisions float32 mixed_bfloat16 --batch-sizes 64 256 --steps 30

On the CPU here it runs as a smoke test (small images, few steps):

    python benchmarks/inception_throughput.py --image-size 75 --batch-sizes 2 --steps 2 --warmup 1

Data are random tensors already on the device: the figure is the model's
training step (forward, backward, optimizer update), not the input pipeline
(see flowers_pipeline.py for that). FLOPs per image are an assumption the table
prints: Inception v3's forward pass at 299x299 is about 5.72 G multiply-adds
(Keras's and the paper's figure), i.e. 11.4 GFLOP; one training step costs
about three forward passes, 34.3 GFLOP per image, scaled by (size / 299)^2.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

FORWARD_MACS_299 = 5.72e9  # multiply-adds per image, forward, at 299x299


def train_flops_per_image(image_size: int) -> float:
    """Assumed FLOPs of one training step per image: 3 x forward, 2 FLOPs per multiply-add."""
    return 3 * 2 * FORWARD_MACS_299 * (image_size / 299) ** 2


def measure(precision: str, batch_size: int, image_size: int, steps: int, warmup: int, jit: bool,
            seed: int = 0) -> dict:
    import keras
    import numpy as np

    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(seed)
    model = keras.applications.InceptionV3(weights=None, input_shape=(image_size, image_size, 3), classes=1000)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(), jit_compile=jit)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (batch_size, image_size, image_size, 3)).astype("float32")
    y = rng.integers(0, 1000, batch_size)
    for _ in range(warmup):  # compilation and autotuning happen here
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        loss = model.train_on_batch(x, y)
    float(np.asarray(loss))  # wait for the device to finish
    seconds = time.perf_counter() - start
    keras.mixed_precision.set_global_policy("float32")
    return {"precision": precision, "batch": batch_size, "images_per_s": steps * batch_size / seconds,
            "step_ms": 1000 * seconds / steps}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"],
                        choices=["float32", "mixed_bfloat16", "mixed_float16"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--image-size", type=int, default=299)
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per setting")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation)")
    parser.add_argument("--no-jit", action="store_true", help="turn XLA compilation off")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the device's peak for the reduced precision (e.g. 989 for an H100 SXM's dense bf16)")
    args = parser.parse_args(argv)
    if args.image_size < 75:
        parser.error("Inception v3 needs images of at least 75x75")
    if min(args.batch_sizes) < 1 or args.steps < 1 or args.warmup < 0:
        parser.error("batch sizes and steps must be positive, warmup non-negative")

    import keras

    flops = train_flops_per_image(args.image_size)
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs; image {args.image_size}x{args.image_size}; assumed {flops / 1e9:.1f} GFLOP "
          f"per image per training step; XLA {'off' if args.no_jit else 'on'}")
    rows = [measure(p, b, args.image_size, args.steps, args.warmup, not args.no_jit)
            for p in args.precisions for b in args.batch_sizes]
    base = rows[0]["images_per_s"]
    print(f"\n| precision | batch | images/s | ms/step | x first row | TFLOP/s |"
          f"{' % of peak |' if args.peak_tflops else ''}")
    print(f"|---|---|---|---|---|---|{'---|' if args.peak_tflops else ''}")
    for row in rows:
        achieved = row["images_per_s"] * flops / 1e12
        line = (f"| {row['precision']} | {row['batch']} | {row['images_per_s']:,.1f} | {row['step_ms']:,.1f} | "
                f"{row['images_per_s'] / base:.2f} | {achieved:,.2f} |")
        if args.peak_tflops:
            line += f" {100 * achieved / args.peak_tflops:.1f} |"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
