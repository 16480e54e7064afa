"""Re-measure the numbers the investigations' discussions quote (utils/exercises/chNN.py, the last exercise).

    python tools/investigation_numbers.py 04 05 06 07 08 09 10 11 12 13 14 15   # the chapters to measure

Each chapter runs what the notebook's investigation cell runs once filled in, on the learner's data (the full
MNIST from CNN_COURSE_MNIST_DIR, the MobileNet weights from CNN_COURSE_MOBILENET_WEIGHTS, scikit-learn's
photos), over the seeds the discussion names, and prints the figures it quotes. 04, 06, 07, 10 and 13 take seconds;
05, 08, 11, 14 and 15 about a minute each, 12 about two, 09 about five (a 2-core CPU).
"""
from __future__ import annotations

import os
import sys

import numpy as np


def ch04():
    import keras
    import tensorflow as tf

    from utils.data import load_sample_image
    from utils.exercises.ch04 import _shift_change

    china, _ = load_sample_image("china.jpg", verbose=False)
    flower, _ = load_sample_image("flower.jpg", verbose=False)
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    pair = np.stack([sobel, sobel.T], axis=-1)[:, :, None, :]

    def edge_maps(photo):
        return tf.nn.relu(tf.nn.conv2d(photo.mean(axis=-1, keepdims=True), pair, 1, "SAME")).numpy()

    temple, flower_photo = china[None].astype(np.float32) / 255, flower[None].astype(np.float32) / 255
    inputs = {"temple photo": temple, "temple edge maps": edge_maps(temple), "flower photo": flower_photo,
              "flower edge maps": edge_maps(flower_photo)}
    for name, image in inputs.items():
        mx = _shift_change(keras.layers.MaxPooling2D(2, strides=2), image)
        av = _shift_change(keras.layers.AveragePooling2D(2, strides=2), image)
        print(f"04 {name}: max pooling {mx:.1%}, average pooling {av:.1%}")


def _mnist_split():
    from utils.data import load_mnist

    mnist = load_mnist(verbose=False)
    (x_fit, y_fit), (x_val, y_val) = mnist.split_validation()
    return mnist, (x_fit[..., None].astype("float32") / 255, y_fit), (x_val[..., None].astype("float32") / 255, y_val)


def ch05():
    import keras

    from utils.exercises.ch05 import _nielsen
    from utils.investigation import accuracy

    _, (x_fit, y_fit), (x_val, y_val) = _mnist_split()
    scores = {False: [], True: []}
    for seed in range(5):
        for strided in (False, True):
            keras.utils.set_random_seed(seed)
            model = _nielsen(strided)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(x_fit[:5000], y_fit[:5000], epochs=2, batch_size=64, verbose=0)
            scores[strided].append(accuracy(model, x_val[:2000], y_val[:2000]))
    gaps = 100 * (np.array(scores[True]) - np.array(scores[False]))
    print(f"05 pooled {np.mean(scores[False]):.1%}, strided {np.mean(scores[True]):.1%}, paired gaps "
          f"{gaps.min():+.1f} to {gaps.max():+.1f} points")


def ch06():
    from lessons.lenet import lecun_normalise, lenet5_faithful
    from utils.data import load_mnist
    from utils.digits import pad_images, to_float
    from utils.exercises.ch06 import start_gradients

    mnist = load_mnist(verbose=False)
    (_, _), (x_val_raw, y_val) = mnist.split_validation()
    x_lecun, x_plain, y = lecun_normalise(x_val_raw[:1000]), pad_images(to_float(x_val_raw[:1000])), y_val[:1000]
    ratios = {"C1": [], "F6": []}
    for seed in range(5):
        model = lenet5_faithful(seed=seed)
        lecun, plain = start_gradients(model, x_lecun, y), start_gradients(model, x_plain, y)
        for layer in ratios:
            ratios[layer].append(lecun[layer] / plain[layer])
        print(f"06 seed {seed}: LeCun C1 {lecun['C1']:.3f} F6 {lecun['F6']:.3f} | plain C1 {plain['C1']:.3f} "
              f"F6 {plain['F6']:.3f}")
    print("06 LeCun / plain: " + ", ".join(f"{layer} {np.mean(r):.2f}x (range {min(r):.2f}-{max(r):.2f}x)"
                                           for layer, r in ratios.items()))


def ch07():
    import keras
    import tensorflow as tf

    from utils.data import load_sample_image
    from utils.exercises.ch07 import _largest_divisor

    temple, _ = load_sample_image("china.jpg", verbose=False)
    gray = keras.layers.Resizing(227, 227, crop_to_aspect_ratio=True)(temple[None].astype("float32")).numpy()
    gray = gray.mean(axis=-1, keepdims=True)
    gray -= gray.mean()
    half = 5
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float32)
    bank = []
    for theta in np.arange(8) * np.pi / 8:  # the chapter's Gabor bank
        along = x * np.cos(theta) + y * np.sin(theta)
        g = np.exp(-(x ** 2 + y ** 2) / (2 * 2.5 ** 2)) * np.cos(2 * np.pi * along / 6)
        g -= g.mean()
        bank.append(g / np.linalg.norm(g))
    maps = tf.nn.relu(tf.nn.conv2d(gray, np.stack(bank, axis=-1)[:, :, None, :], 1, "VALID")).numpy()
    print("07 largest LRN divisor: " + ", ".join(f"x {s:.3g}: {_largest_divisor(maps, s):.3f}"
                                                  for s in (1 / 255, 0.1, 1, 10)))


def ch08():
    import keras
    import tensorflow as tf

    from lessons.googlenet import googlenet
    from utils.data import load_sample_image

    def views(photo):
        h, w, _ = photo.shape
        side, top, left = min(h, w), (h - min(h, w)) // 2, (w - min(h, w)) // 2
        squashed = tf.image.resize(photo, (224, 224))
        centre = tf.image.resize(photo[top:top + side, left:left + side], (224, 224))
        return [squashed, centre, squashed[:, ::-1], centre[:, ::-1]]

    photos = [load_sample_image(name, verbose=False)[0] for name in ("china.jpg", "flower.jpg")]
    batch = tf.stack([v for photo in photos for v in views(photo)]) / 127.5 - 1.0
    labels = np.random.default_rng(0).integers(1000, size=len(batch))
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        net = googlenet(aux=True)
        conv1 = [w for layer in net.layers if layer.name.startswith("conv1_7x7") for w in layer.trainable_weights]
        with tf.GradientTape(persistent=True) as tape:
            main_out, aux_4a, aux_4d = net(batch, training=True)
            main, aux = loss_fn(labels, main_out), loss_fn(labels, aux_4a) + loss_fn(labels, aux_4d)
            losses = {w: main + w * aux for w in (0, 0.1, 0.3, 1.0, 3.0)}
        norms = {w: float(tf.linalg.global_norm(tape.gradient(loss, conv1))) for w, loss in losses.items()}
        print(f"08 seed {seed}: ratio to the main loss alone " + ", ".join(f"w = {w:g}: {n / norms[0]:.2f}"
                                                                            for w, n in norms.items()))


def ch09():
    import keras

    from lessons import resnet
    from utils.exercises.ch09 import _initial_loss
    from utils.investigation import accuracy

    _, (x_fit, y_fit), (x_val, y_val) = _mnist_split()
    x_val, y_val = x_val[:1000], y_val[:1000]
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(4000)
        row = []
        for zero in (False, True):
            keras.utils.set_random_seed(seed)
            model = resnet.small_resnet(units_per_stage=5, filters=(8, 16, 32), shortcut="A", zero_init_residual=zero)
            start = _initial_loss(model, x_val[:256], y_val[:256])
            model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy")
            model.fit(x_fit[order], y_fit[order], batch_size=64, epochs=2, shuffle=False, verbose=0)
            score = accuracy(model, x_val, y_val)
            row.append(f"gamma = {0 if zero else 1}: initial loss {start:.2f}, accuracy {score:.1%}")
        print(f"09 seed {seed}: " + "; ".join(row))


def ch10():
    import keras

    from utils.exercises.ch10 import unevenness

    keras.utils.set_random_seed(0)
    transposed = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)
    resized = keras.Sequential([keras.layers.UpSampling2D(2), keras.layers.Conv2D(1, 3, padding="same")])
    print(f"10 unevenness: transposed {unevenness(transposed):.1%}, resized {unevenness(resized):.1%}")


def ch11():
    from utils import memory
    from utils.memory import Conv

    image, layers = (200, 300, 3), [Conv(100, 3, 2, "same"), Conv(200, 3, 2, "same"), Conv(400, 3, 2, "same")]
    measured = [memory.measure_peak(image, layers, b, modes=("training",))[0] for b in (10, 25, 50)]
    batch = np.array([m.batch_size for m in measured], float)
    growth = np.array([m.allocator_growth for m in measured], float)
    slope, intercept = np.polyfit(batch, growth, 1)
    miss = np.abs(np.polyval((slope, intercept), batch) - growth).max() / growth.max()
    estimate = {name: memory.training_estimate(image, layers, 2, **kw).total
                - memory.training_estimate(image, layers, 1, **kw).total
                for name, kw in (("with the reverse pass", {"reverse_pass": True, "param_gradients": True}),
                                 ("bare minimum", {"inputs": False, "params": False}))}
    print(f"11 growth {', '.join(f'{g / 1e6:.0f}' for g in growth)} MB at batches 10, 25, 50: slope "
          f"{slope / 1e6:.1f} MB per instance, the line misses by up to {miss:.0%}; estimates per instance: "
          + ", ".join(f"{name} {value / 1e6:.1f} MB" for name, value in estimate.items()))


def ch12():
    import keras

    from utils.exercises.ch12 import _shift_right
    from utils.investigation import accuracy

    _, (x_fit, y_fit), (x_val, y_val) = _mnist_split()

    def cnn(top):  # the chapter's small_cnn with `top` in place of its global pooling; the seed sets the weights
        return keras.Sequential([
            keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(), keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(), keras.layers.Conv2D(64, 3, activation="relu"),
            top, keras.layers.Dense(10, activation="softmax")])

    lost = {}
    for seed in range(5):
        for name, top in (("global max pooling", keras.layers.GlobalMaxPooling2D), ("Flatten", keras.layers.Flatten)):
            keras.utils.set_random_seed(seed)
            model = cnn(top())
            model.compile("adam", "sparse_categorical_crossentropy")
            model.fit(x_fit[:2000], y_fit[:2000], epochs=3, batch_size=64, verbose=0)
            centred, moved = (accuracy(model, _shift_right(x_val[:2000], s), y_val[:2000]) for s in (0, 6))
            lost.setdefault(name, []).append(100 * (centred - moved))
            print(f"12 seed {seed}, {name}: {centred:.1%} centred, {moved:.1%} at 6 px "
                  f"({100 * (centred - moved):.1f} points lost)")
    from utils import verdicts

    print("12 points lost at 6 px, Flatten against global max pooling:", verdicts.compare(
        lost["Flatten"], lost["global max pooling"], paired=True, names=("Flatten", "global max"), fmt="{:+.1f}",
        unit=" points", higher="Flatten loses more", lower="Flatten loses fewer"))


def ch13():
    from keras.applications import mobilenet

    from utils.data import load_sample_image
    from utils.pretrained import resize_image

    weights = os.environ["CNN_COURSE_MOBILENET_WEIGHTS"]
    model = mobilenet.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights=weights)
    for name in ("china.jpg", "flower.jpg"):
        photo, _ = load_sample_image(name, verbose=False)
        crop = resize_image(photo, 128)
        squashed = resize_image(photo, 128, center_crop=False)
        views = {"centre crop": crop, "mirrored": crop[:, ::-1], "squashed": squashed}
        probs = model.predict(mobilenet.preprocess_input(np.stack(list(views.values())).astype("float32")), verbose=0)
        print(f"13 {name}: " + ", ".join(f"{view} class {int(p.argmax())} ({p.max():.1%})"
                                         for view, p in zip(views, probs)))


def ch14():
    import keras

    from utils.investigation import accuracy

    mnist, _, _ = _mnist_split()
    x_train, y_train = mnist.x_train[:10_000, ..., None].astype("float32") / 255, mnist.y_train[:10_000]
    x_test, y_test = mnist.x_test[..., None].astype("float32") / 255, mnist.y_test

    def digit_base(seed):
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, activation="relu"),
                                 keras.layers.MaxPooling2D(), keras.layers.Conv2D(64, 3, activation="relu"),
                                 keras.layers.MaxPooling2D(), keras.layers.Flatten()], name="conv_base")

    def with_head(base):
        model = keras.Sequential([base, keras.layers.Dropout(0.3), keras.layers.Dense(5, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        return model

    from utils.setup import DEFAULT_SEED

    old = with_head(digit_base(DEFAULT_SEED))  # as the notebook's cell does: digit_base(ENV.seed), ENV.seed = 42
    old.fit(x_train[y_train < 5], y_train[y_train < 5], epochs=5, batch_size=64, verbose=0)
    pretrained, new = old.layers[0].get_weights(), y_test >= 5
    for seed in range(5):
        rng = np.random.default_rng(seed)
        few = np.concatenate([rng.choice(np.flatnonzero(y_train == d), 10, replace=False) for d in range(5, 10)])
        row = []
        for frozen in (0, 1, 2):
            base = digit_base(100 + seed)
            base.set_weights(pretrained)
            for layer in [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)][:frozen]:
                layer.trainable = False
            model = with_head(base)
            model.fit(x_train[few], y_train[few] - 5, epochs=40, batch_size=32, verbose=0)
            convs = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
            start = [w for w in pretrained if w.ndim == 4]  # the two kernels, in order
            moved = [np.linalg.norm(conv.kernel.numpy() - w0) / np.linalg.norm(w0) for conv, w0 in zip(convs, start)]
            row.append(f"{frozen} frozen {accuracy(model, x_test[new], y_test[new] - 5):.1%} (kernels moved "
                       + ", ".join(f"{m:.1%}" for m in moved) + " of their norm)")
        print(f"14 sample {seed}: " + ", ".join(row))


def ch15():
    from lessons.typical_cnn import typical_cnn
    from utils import digits, training
    from utils.data import load_mnist
    from utils.exercises.ch15 import _ink_density

    mnist = load_mnist(verbose=False)
    x_train, x_test, y_test = digits.to_float(mnist.x_train), digits.to_float(mnist.x_test), mnist.y_test
    model = typical_cnn(conv_blocks=((16,), (32,)), dense_units=(64,), seed=0)
    training.train(model, x_train, mnist.y_train, epochs=5, test_data=(x_test, y_test), verbose=0)
    predicted = np.argmax(model.predict(x_test, verbose=0), axis=1)
    right, wrong = np.flatnonzero(predicted == y_test), np.flatnonzero(predicted != y_test)
    for n in (4, 100):
        images = x_test[np.concatenate([right[:n], wrong[:n]])]
        print(f"15 {2 * n} digits: heat on ink over a uniform map " + ", ".join(
            f"{layer} {_ink_density(model, images, layer):.2f}" for layer in ("conv1_1", "pool1", "conv2_1", "pool2")))


if __name__ == "__main__":
    chapters = sys.argv[1:] or ["04", "10", "13"]
    for chapter in chapters:
        globals()[f"ch{chapter}"]()
