"""Training and evaluation of the city classifier head: NumPy and Keras, no Django."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def stratified_split(labels: np.ndarray, *, val_fraction: float, test_fraction: float, seed: int) -> Split:
    """Indices split per class, so every city is in train and (when it has 3+ photos) in val and test."""
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n = len(idx)
        n_val = max(1, round(n * val_fraction)) if n >= 3 and val_fraction > 0 else 0
        n_test = max(1, round(n * test_fraction)) if n >= 3 and test_fraction > 0 else 0
        val.extend(idx[:n_val])
        test.extend(idx[n_val : n_val + n_test])
        train.extend(idx[n_val + n_test :])
    return Split(*(np.sort(np.array(part, dtype=int)) for part in (train, val, test)))


def build_head(feature_dim: int, n_classes: int, *, dropout: float = 0.2, seed: int = 0):
    """Dropout -> Dense(softmax) over pooled backbone features (pooling is the backbone's last layer)."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((feature_dim,), name="features")
    x = keras.layers.Dropout(dropout, name="dropout")(inputs)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="cities")(x)
    model = keras.Model(inputs, outputs, name="city_head")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_head(
    head,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> list[dict]:
    """Fit with categorical cross-entropy; keeps the weights of the epoch with the best validation loss."""
    import keras

    n_classes = head.output_shape[-1]
    callbacks: list = []
    if on_epoch:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: on_epoch(epoch, logs)))
    has_val = len(x_val) > 0
    if has_val:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=max(3, epochs // 4), restore_best_weights=True)
        )
    history = head.fit(
        x_train,
        keras.utils.to_categorical(y_train, n_classes),
        validation_data=(x_val, keras.utils.to_categorical(y_val, n_classes)) if has_val else None,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    keys = list(history.history)
    return [{k: float(history.history[k][i]) for k in keys} for i in range(len(history.history[keys[0]]))]


def classification_metrics(probabilities: np.ndarray, labels: np.ndarray, n_classes: int) -> dict:
    """Accuracy, top-5 accuracy, per-class accuracy and the confusion matrix (rows: truth)."""
    if len(labels) == 0:
        return {"count": 0, "accuracy": None, "top5_accuracy": None, "per_class_accuracy": {}, "confusion": []}
    predicted = probabilities.argmax(axis=1)
    k = min(5, n_classes)
    top5 = np.argsort(-probabilities, axis=1)[:, :k]
    confusion = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = {}
    for c in range(n_classes):
        total = confusion[c].sum()
        if total:
            per_class[c] = float(confusion[c, c] / total)
    return {
        "count": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "top5_accuracy": float((top5 == labels[:, None]).any(axis=1).mean()),
        "per_class_accuracy": per_class,
        "confusion": confusion.tolist(),
    }
