"""Opening the black box: feature maps, maximally activating inputs and Grad-CAM.

All functions take a built Keras 3 model. Layer names are checked first and a
wrong name gets an error that lists the valid choices.
"""
from __future__ import annotations

import numpy as np


def _layer_rank(layer) -> int | None:
    try:
        return len(layer.output.shape)
    except (AttributeError, ValueError):
        return None


_PREPROCESSING = {"Rescaling", "Resizing", "Normalization", "CenterCrop", "InputLayer"}


def _is_preprocessing(layer) -> bool:
    """Input, augmentation and rescaling layers (and models made only of them): no features to explain."""
    import keras

    if isinstance(layer, keras.Model):
        return all(_is_preprocessing(inner) for inner in layer.layers)
    name = layer.__class__.__name__
    return name in _PREPROCESSING or name.startswith("Random")


def spatial_layer_names(model) -> list[str]:
    """Names of the top-level layers whose output is a 4-D map ``(batch, h, w, channels)``.

    Input, augmentation and rescaling layers are left out: they hold no learned features.
    """
    return [layer.name for layer in model.layers if _layer_rank(layer) == 4 and not _is_preprocessing(layer)]


def _choices(valid: list[str], most: int = 12) -> str:
    if len(valid) <= most:
        return str(valid)
    return f"{valid[:3]} ... {valid[-(most - 3):]} ({len(valid)} layers in all; the last ones see the most)"


def conv_layer_names(model) -> list[str]:
    """Names of the top-level convolution layers (any ``Conv*`` class with a 4-D output)."""
    return [layer.name for layer in model.layers
            if "Conv" in layer.__class__.__name__ and _layer_rank(layer) == 4]


def _check_layer(model, name: str, valid: list[str], what: str):
    names = [layer.name for layer in model.layers]
    if name not in names:
        raise ValueError(f"model {model.name!r} has no layer named {name!r}; {what}: {_choices(valid)}")
    if name not in valid:
        layer = model.get_layer(name)
        raise ValueError(f"layer {name!r} ({layer.__class__.__name__}, output shape {tuple(layer.output.shape)}) "
                         f"is not a convolutional feature map; {what}: {_choices(valid)}")
    return model.get_layer(name)


def _check_images(model, images) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    expected = tuple(model.inputs[0].shape[1:])
    if images.ndim == len(expected):
        images = images[None]
    if images.ndim != len(expected) + 1 or any(e is not None and e != s for e, s in zip(expected, images.shape[1:])):
        raise ValueError(f"image batch of shape {images.shape} does not fit model {model.name!r}, which takes "
                         f"(batch, {', '.join(str(e) for e in expected)}); resize the image to that size first")
    return images


def feature_maps(model, images, layer_names=None) -> dict[str, np.ndarray]:
    """Outputs of several layers for one image or a batch, in one forward pass.

    ``layer_names`` defaults to every top-level layer with a 4-D output. Returns
    an ordered ``{name: array}``.
    """
    import keras

    valid = spatial_layer_names(model)
    names = valid if layer_names is None else list(layer_names)
    if not names:
        raise ValueError(f"model {model.name!r} has no layer with a 4-D feature map output")
    layers = [_check_layer(model, name, valid, "layers with feature maps") for name in names]
    probe = keras.Model(model.inputs[0], [layer.output for layer in layers])
    outputs = probe(_check_images(model, images), training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return {name: np.asarray(out) for name, out in zip(names, outputs)}


def _nested_models(model) -> list:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.Model)]


def grad_cam_layer_names(model) -> list[str]:
    """Layers Grad-CAM can explain: 4-D outputs at the top level or inside one nested base model."""
    nested_models = _nested_models(model)
    names = [name for name in spatial_layer_names(model) if name not in {n.name for n in nested_models}]
    for nested in nested_models:
        if not _is_preprocessing(nested):
            names += [name for name in spatial_layer_names(nested) if name not in names]
    return names


def _softmax_head(model):
    """The final layer when it ends in a softmax (a softmax ``Dense`` or ``Activation``), else None."""
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    if getattr(activation, "__name__", "") == "softmax":
        return last
    return None


def _scores(head, head_input, predictions):
    """Class scores before the softmax: Grad-CAM explains these, not probabilities.

    The gradient of a softmax probability also pulls in every other class and
    vanishes when the model is confident; the pre-softmax score does neither.
    """
    import tensorflow as tf

    if head is None:
        return predictions
    if head.__class__.__name__ == "Activation":
        return head_input
    logits = tf.matmul(head_input, head.kernel)
    return logits + head.bias if getattr(head, "use_bias", False) else logits


def _chain_probe(model, nested, layer, head):
    """(maps, head input, predictions) for a chain model ``input -> ... -> nested base -> ... -> head``.

    Runs the outer model's layers one after the other in inference mode,
    taking the chosen map from inside ``nested``.
    """
    import keras

    inner = keras.Model(nested.inputs[0], [layer.output, nested.outputs[0]])

    def probe(images):
        x, maps, head_input = images, None, None
        for outer in model.layers:
            if outer.__class__.__name__ == "InputLayer":
                continue
            if outer is head:
                head_input = x
            if outer is nested:
                maps, x = inner(x, training=False)
            else:
                x = outer(x, training=False)
        return maps, head_input, x

    return probe


def grad_cam(model, image, layer_name: str, class_index: int | None = None) -> tuple[np.ndarray, int]:
    """Grad-CAM heat map (values in [0, 1], at the chosen layer's resolution) and the class explained.

    For class score ``y_c`` and the layer's maps ``A_k``, each map is weighted
    by the spatial mean of ``d y_c / d A_k`` and the weighted sum is passed
    through ReLU (Selvaraju et al., 2017). When the model ends in a softmax,
    ``y_c`` is the score *before* it (the logit). ``class_index`` defaults to the
    predicted class. The layer is a top-level layer with a 4-D output, or one
    inside a nested base model (``input -> base -> head``, as transfer-learning
    models are built).
    """
    import keras
    import tensorflow as tf

    valid = grad_cam_layer_names(model)
    choice = "choose one of the layers with feature maps"
    top_level = [layer.name for layer in model.layers]
    if layer_name in top_level or not any(layer_name in [x.name for x in n.layers] for n in _nested_models(model)):
        if layer_name in top_level and layer_name not in spatial_layer_names(model) \
                and layer_name in [n.name for n in _nested_models(model)]:
            raise ValueError(f"layer {layer_name!r} is a whole nested model; {choice} inside it: {_choices(valid)}")
        if layer_name not in top_level:
            raise ValueError(f"model {model.name!r} has no layer named {layer_name!r}; {choice}: {_choices(valid)}")
        layer = _check_layer(model, layer_name, valid, choice)
        head = _softmax_head(model)
        head_input = head.input if head is not None else model.outputs[0]
        probe_model = keras.Model(model.inputs[0], [layer.output, head_input, model.outputs[0]])

        def probe(images):
            return probe_model(images, training=False)
    else:
        nested = next(n for n in _nested_models(model) if layer_name in [x.name for x in n.layers])
        layer = _check_layer(nested, layer_name, valid, choice)
        head = _softmax_head(model)
        probe = _chain_probe(model, nested, layer, head)
    images = _check_images(model, image)
    if images.shape[0] != 1:
        raise ValueError(f"grad_cam explains one image at a time, got a batch of {images.shape[0]}")
    with tf.GradientTape() as tape:
        maps, head_input, predictions = probe(tf.constant(images))
        n_classes = predictions.shape[-1]
        if class_index is None:
            class_index = int(tf.argmax(predictions[0]))
        elif not 0 <= class_index < n_classes:
            raise ValueError(f"class_index={class_index} is out of range for {n_classes} classes")
        score = _scores(head, head_input, predictions)[:, class_index]
    expected = np.asarray(model(images, training=False))
    if not np.allclose(np.asarray(predictions), expected, atol=1e-4):
        raise ValueError(f"model {model.name!r} is not a simple chain around its nested base, so Grad-CAM "
                         f"cannot reach layer {layer_name!r}; build the model with the base's layers at the top level")
    grads = tape.gradient(score, maps)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))
    cam = tf.nn.relu(tf.reduce_sum(maps[0] * weights, axis=-1)).numpy()
    peak = cam.max()
    return (cam / peak if peak > 0 else cam), class_index


def overlay(image, heatmap, *, alpha: float = 0.45, cmap: str = "jet") -> np.ndarray:
    """Blend a heat map (any resolution) over an RGB image; returns floats in [0, 1]."""
    import matplotlib
    import tensorflow as tf

    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"overlay needs an RGB image (h, w, 3), got shape {image.shape}")
    if image.max() > 1.0:
        image = image / 255.0
    heat = tf.image.resize(np.asarray(heatmap, np.float32)[..., None], image.shape[:2]).numpy()[..., 0]
    colours = matplotlib.colormaps[cmap](np.clip(heat, 0, 1))[..., :3]
    return np.clip((1 - alpha) * image + alpha * colours, 0, 1)


def maximize_activation(model, layer_name: str, filter_index: int, *, steps: int = 30, step_size: float = 10.0,
                        seed: int = 0, start=None) -> np.ndarray:
    """Gradient ascent on the input to find a pattern that excites one filter.

    Starts from small noise around grey (or from ``start``) and repeatedly
    moves the image along the normalised gradient of the filter's mean
    activation (borders excluded). Returns the image in the model's input scale.
    """
    import keras
    import tensorflow as tf

    layer = _check_layer(model, layer_name, spatial_layer_names(model), "choose one of the layers with feature maps")
    channels = layer.output.shape[-1]
    if not 0 <= filter_index < channels:
        raise ValueError(f"filter_index={filter_index} is out of range: layer {layer_name!r} has {channels} filters")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got steps={steps}")
    probe = keras.Model(model.inputs[0], layer.output)
    shape = (1,) + tuple(model.inputs[0].shape[1:])
    if start is None:
        rng = np.random.default_rng(seed)
        start = 0.5 + 0.05 * rng.standard_normal(shape)
    image = tf.Variable(_check_images(model, start))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            act = probe(image, training=False)[..., filter_index]
            h, w = act.shape[1], act.shape[2]
            bh, bw = (h // 8, w // 8) if min(h, w) >= 8 else (0, 0)
            score = tf.reduce_mean(act[:, bh:h - bh, bw:w - bw])
        grad = tape.gradient(score, image)
        image.assign_add(step_size * grad / (tf.norm(grad) + 1e-8))
    return image.numpy()[0]


def normalise_for_display(array) -> np.ndarray:
    """Rescale an array to [0, 1] (each image on its own) for showing kernels or inputs."""
    array = np.asarray(array, dtype=np.float64)
    low, high = array.min(), array.max()
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def kernels_as_images(kernel) -> list[np.ndarray]:
    """First-layer kernels ``(fh, fw, in_channels, filters)`` as a list of displayable images."""
    kernel = np.asarray(kernel)
    if kernel.ndim != 4 or kernel.shape[2] not in (1, 3):
        raise ValueError(f"expected a first-layer kernel (fh, fw, 1 or 3, filters), got shape {kernel.shape}")
    return [normalise_for_display(kernel[:, :, :, k].squeeze(-1) if kernel.shape[2] == 1 else kernel[:, :, :, k])
            for k in range(kernel.shape[3])]
