"""Training both models with Keras: class weights, augmentation, patient-wise early stopping.

:func:`train_model` builds (or loads from the cache) the windows of the training and validation
records (:mod:`ecgtk.export.dataset`), then fits :func:`ecgtk.export.architecture.build_model`:

- balanced class weights (as per-sample weights, since batches are augmented on the fly by
  :mod:`ecgtk.export.augment`),
- ``EarlyStopping`` on the validation records' loss with the best weights restored, and a
  ``ModelCheckpoint`` of the best model in ``out_dir``,
- fixed seeds (``keras.utils.set_random_seed``), TensorFlow limited to a few CPU threads,
- Keras' own progress bar.

Transfer learning (``init`` = an existing ``.keras`` model): the head is trained first with the
convolutional trunk (:func:`ecgtk.export.architecture.trunk_layers`) frozen, then everything at
a low learning rate.

After fitting, the decision threshold is chosen on the validation records only
(:func:`ecgtk.export.thresholds.choose_threshold`) and written with the training facts to
``<kind>.train.json``.

TensorFlow is imported inside functions: importing this module is cheap and has no side effects.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ecgtk.export.augment import AugmentConfig
from ecgtk.export.batches import augmented_batches, class_weights
from ecgtk.export.dataset import (
    WindowSet,
    build_windows,
)
from ecgtk.export.thresholds import choose_threshold
from ecgtk.inference.inputs import (
    BEAT_WINDOW,
    MODEL_RATE_HZ,
    VENTRICULAR_WINDOW,
    leads_of_context_input,
)

__all__ = [
    "CLASSES",
    "DEFAULT_EPOCHS",
    "DEFAULT_LEADS",
    "TrainSettings",
    "choose_threshold",
    "configure_tensorflow",
    "predict_proba",
    "train_model",
    "train_windows",
]

KINDS = ("beat", "ventricular")
WINDOWS = {"beat": BEAT_WINDOW, "ventricular": VENTRICULAR_WINDOW}
#: Class names, index = model output column.
CLASSES = {"beat": ("artefact", "beat"), "ventricular": ("non-ventricular", "ventricular")}
#: Input leads (the first n leads of a recording); chosen by measurement, see models/*.md.
DEFAULT_LEADS = {"beat": 2, "ventricular": 2}
#: Whether the model reads context channels beside its leads (the stretch's median beat per
#: lead and the RR ratios, :func:`ecgtk.inference.inputs.ventricular_inputs`).
DEFAULT_CONTEXT = {"beat": False, "ventricular": True}
DEFAULT_EPOCHS = {"beat": 10, "ventricular": 12}
#: Architecture arguments beyond build_model's defaults (TrainSettings.arch overrides them).
#: Model 2's stem is strided: its trunk and BiLSTM run at 180 Hz, about twice as fast, and
#: with the per-template V decision its cross-validated VEB F1 was higher in every fold
#: (benchmarks/stride_cv.py at d2155be, research/README.md; models/ventricular.md). Model 1
#: keeps stride 1: strided, it rejected more real beats. Narrower networks (the ``compact``
#: recipe of :mod:`ecgtk.export.evaluate`) were measured and not kept
#: (research/compact_models_plan.md).
DEFAULT_ARCH = {"beat": {}, "ventricular": {"stem_stride": 2}}
#: Adam learning rate from scratch. Model 2 at 1e-3 overfits its training patients within one
#: or two epochs; 3e-4 gave a better held-out F1 in a 2-fold comparison (see models/*.md).
DEFAULT_LR = {"beat": 1e-3, "ventricular": 3e-4}
#: Augmentation. Model 1 also sees the leads in reverse order half the time: whether a
#: candidate is a QRS does not depend on which lead comes first, and recordings store their
#: leads in any order (MIT-BIH 114 has V5 before MLII; model 1 rejected 45 % of its beats
#: without this). For model 2 the reversal gave no clear gain in a 2-fold comparison.
DEFAULT_AUGMENT = {"beat": AugmentConfig(swap_probability=0.5), "ventricular": AugmentConfig()}
#: Early stopping and checkpoints watch this validation quantity. Model 2 watches the average
#: precision of V on its validation patients (val_ap): in the patient-wise cross-validation,
#: refitted pairs so trained labelled V beats better than pairs stopped on the loss, on two
#: seed pairs (research/ventricular_experiments.md, "Early stopping on average precision";
#: ensemble_cv --monitor). The loss, weighted to balance the classes, tends to stop after 1-3
#: epochs.
DEFAULT_MONITOR = {"beat": "val_loss", "ventricular": "val_ap"}
#: Fine-tuning: share of the epochs spent on the head alone, and the learning rates.
HEAD_EPOCH_SHARE = 1 / 3
HEAD_LR = 1e-3
FINE_TUNE_LR = 1e-4


@dataclass
class TrainSettings:
    """Knobs of one training run (defaults are the shipped models')."""

    n_leads: int | None = None  # None: DEFAULT_LEADS[kind]
    context: bool | None = None  # context channels beside the leads; None: DEFAULT_CONTEXT[kind]
    batch_size: int = 128
    learning_rate: float | None = None  # None: DEFAULT_LR[kind]
    patience: int = 4
    augment: AugmentConfig | bool | None = None  # None: DEFAULT_AUGMENT[kind]; False: off
    arch: dict = field(default_factory=dict)  # build_model arguments over DEFAULT_ARCH[kind]
    threads: int = 2
    verbose: int | str = "auto"
    max_train_windows: int | None = None  # cap (random subsample) for quick experiments
    #: BatchNormalization momentum. Keras' 0.99 needs hundreds of steps before the moving
    #: statistics fit, which with ~100 steps per epoch makes early validation (and early
    #: stopping) meaningless; 0.9 settles within an epoch.
    bn_momentum: float = 0.9
    #: Early-stopping / checkpoint quantity: ``"val_loss"`` or ``"val_ap"`` (average
    #: precision of class 1 on the validation windows); None: DEFAULT_MONITOR[kind].
    monitor: str | None = None
    #: Folders holding ``nstdb/bw|em|ma``: the noise bank of ``augment.real_noise_probability``
    #: > 0 (:func:`ecgtk.export.real_noise.load_noise_bank`).
    noise_dirs: list[str] = field(default_factory=list)
    #: Distillation: a ``.keras`` model of the same kind and inputs (the teacher), or several
    #: (an ensemble: their probabilities averaged), whose probabilities, on every augmented
    #: training window, make ``teacher_weight`` of the targets (the label the rest); None: the
    #: labels alone. The teacher must not have seen the validation or held-out patients.
    teacher: str | list[str] | None = None
    teacher_weight: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.augment, dict):  # as read back from a .train.json (lists for tuples)
            self.augment = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v
                                            for k, v in self.augment.items()})


_THREADS_SET: list[int] = []  # the first configure_tensorflow call's threads (it wins)


def configure_tensorflow(threads: int = 2) -> None:
    """Limit TensorFlow to ``threads`` CPU threads (call before any TF work; later calls are
    ignored, so a command's ``--threads`` outlives the defaults of what it calls) and
    quieten its logging."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if _THREADS_SET:
        return
    _THREADS_SET.append(threads)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised
        pass


def model_inputs(kind: str, windows: WindowSet, n_leads: int,
                 context: bool | None = None) -> np.ndarray:
    """What model ``kind`` reads from a window set: the first ``n_leads`` leads, with their
    context channels (:func:`ecgtk.inference.inputs.ventricular_inputs`) when ``context`` (None:
    :data:`DEFAULT_CONTEXT` of ``kind``)."""
    if DEFAULT_CONTEXT[kind] if context is None else context:
        return windows.context_inputs(n_leads)
    return windows.leads(n_leads)


def predict_proba(model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Probability of class 1 for windows ``x`` (Keras model or an ONNX-like callable)."""
    if len(x) == 0:
        return np.zeros(0, np.float32)
    if callable(model) and not hasattr(model, "predict"):
        return np.asarray(model(x), np.float32)
    return model.predict(x, batch_size=batch_size, verbose=0)[:, 1].astype(np.float32)


def new_model(kind: str, channels: int, settings: TrainSettings):
    """A fresh, untrained model ``kind`` for inputs of ``channels`` channels: the default
    architecture with ``settings.arch`` over it and its BatchNormalization momentum."""
    from ecgtk.export.architecture import build_model

    model = build_model(sum(WINDOWS[kind]), channels, 2, name=f"ecgtk_{kind}",
                        **{**DEFAULT_ARCH[kind], **settings.arch})
    _set_bn_momentum(model, settings.bn_momentum)
    return model


def _freeze_trunk(model, frozen: bool) -> None:
    from ecgtk.export.architecture import trunk_layers

    for layer in trunk_layers(model):
        layer.trainable = not frozen


def _set_bn_momentum(model, momentum: float) -> None:
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(momentum)


def _n_trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _average_precision(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    y = np.asarray(y) == 1
    return float(average_precision_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def _make_ap_callback():
    import keras

    class AveragePrecision(keras.callbacks.Callback):
        """Adds ``val_ap`` (average precision of class 1 on the validation windows) to each
        epoch's logs, for early stopping on a threshold-free ranking score."""

        def __init__(self, x, y):
            super().__init__()
            self.x, self.y = x, y

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["val_ap"] = _average_precision(self.y, predict_proba(self.model, self.x))

    return AveragePrecision


def _AveragePrecision(x, y):  # noqa: N802  (a class made on first use: keras imported late)
    return _make_ap_callback()(x, y)


def _resolved_augment(settings: TrainSettings, kind: str) -> dict | None:
    aug = settings.augment
    aug = DEFAULT_AUGMENT[kind] if aug is None or aug is True else (aug or None)
    return asdict(aug) if aug else None


def _noise_bank(aug: AugmentConfig | None, settings: TrainSettings):
    """The real-noise bank ``aug`` asks for (loaded from ``settings.noise_dirs``), else None."""
    if aug is None or aug.real_noise_probability <= 0:
        return None
    from ecgtk.export.real_noise import load_noise_bank

    return load_noise_bank(settings.noise_dirs, aug.real_noise_kinds,
                           aug.real_noise_spare_proxies, aug.fs)


def _load_teacher(path: str | list[str] | None, input_shape: tuple):
    """The distillation teacher of ``TrainSettings.teacher`` (None: none): a callable giving
    ``(n, 2)`` probabilities, the members' average when several paths are given, each checked
    to read windows of ``input_shape``."""
    if not path:
        return None
    import keras

    import ecgtk.export.architecture  # noqa: F401  (registers WeightedSum)

    members = []
    for one in [path] if isinstance(path, str) else list(path):
        if not Path(one).is_file():
            raise FileNotFoundError(f"{one}: no such teacher model")
        member = keras.models.load_model(str(one))
        if tuple(member.input_shape[1:]) != tuple(input_shape):
            raise ValueError(f"{one}: the teacher reads {member.input_shape[1:]}, the "
                             f"student's windows are {tuple(input_shape)}")
        member.trainable = False
        members.append(member)
    if len(members) == 1:
        return members[0]

    def ensemble(x, training=False):
        return sum(np.asarray(m(x, training=training)) for m in members) / len(members)

    return ensemble


def _fit(model, train: tuple, val: tuple | None, *, out_dir: Path, name: str, epochs: int,
         lr: float, settings: TrainSettings, seed: int, phase: str, kind: str,
         context: bool) -> dict:
    import keras

    x, y = train
    cw = class_weights(y)
    aug = _resolved_augment(settings, kind)
    aug = AugmentConfig(**aug) if aug else None
    leads = leads_of_context_input(x.shape[2]) if context else x.shape[2]
    teacher = _load_teacher(settings.teacher, x.shape[1:])
    seq = augmented_batches(x, y, settings.batch_size, seed, cw, aug, leads,
                            _noise_bank(aug, settings), teacher, settings.teacher_weight)
    loss = "sparse_categorical_crossentropy" if teacher is None else "categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss,
                  weighted_metrics=["accuracy"] if teacher is None else None)
    if val is None:  # a refit (ecgtk.export.refit): a fixed number of epochs, nothing to watch
        hist = model.fit(seq, epochs=epochs, verbose=settings.verbose)
        return {"phase": phase, "learning_rate": lr, "epochs_run": epochs,
                "loss": [float(v) for v in hist.history.get("loss", [])], "class_weight": cw}
    vx, vy = val
    vw = np.array([cw[int(c)] for c in vy], np.float32)
    monitor = settings.monitor or DEFAULT_MONITOR[kind]
    mode = "min" if monitor == "val_loss" else "max"
    callbacks = [
        _AveragePrecision(vx, vy),  # first: adds val_ap to the logs the others read
        keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=settings.patience,
                                      restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(out_dir / f"{name}.ckpt.keras"), monitor=monitor,
                                        mode=mode, save_best_only=True),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=0.3,
                                          patience=max(1, settings.patience - 1), min_lr=1e-5),
    ]
    vt = (vy.astype(np.int32) if teacher is None
          else np.eye(2, dtype=np.float32)[np.asarray(vy, np.int64)])  # the labels, as targets
    t0 = time.time()
    hist = model.fit(seq, validation_data=(vx, vt, vw), epochs=epochs,
                     callbacks=callbacks, verbose=settings.verbose)
    losses = [float(v) for v in hist.history.get("val_loss", [])]
    aps = [float(v) for v in hist.history.get("val_ap", [])]
    track = losses if monitor == "val_loss" else [-v for v in aps]
    return {"phase": phase, "learning_rate": lr, "epochs_run": len(losses), "monitor": monitor,
            "best_epoch": int(np.argmin(track)) + 1 if track else 0,
            "val_loss": losses, "val_ap": aps,
            "loss": [float(v) for v in hist.history.get("loss", [])],
            "seconds": round(time.time() - t0, 1), "trainable_params": _n_trainable(model),
            "class_weight": cw}


def train_windows(kind: str, train: WindowSet, val: WindowSet, out_dir: str | Path, *,
                  init: str | Path | None = None, epochs: int | None = None, seed: int = 0,
                  settings: TrainSettings | None = None, extra_info: dict | None = None
                  ) -> tuple[Path, dict]:
    """Fit model ``kind`` on window sets; returns the ``.keras`` path and the training facts
    (also written to ``<out_dir>/<kind>.train.json``)."""
    import keras

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if len(train) == 0 or len(val) == 0:
        raise ValueError("empty training or validation set")
    s = settings or TrainSettings()
    n_leads = s.n_leads or DEFAULT_LEADS[kind]
    context = DEFAULT_CONTEXT[kind] if s.context is None else bool(s.context)
    epochs = int(epochs or DEFAULT_EPOCHS[kind])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_tensorflow(s.threads)
    keras.utils.set_random_seed(seed)

    if s.max_train_windows and len(train) > s.max_train_windows:
        pick = np.sort(np.random.default_rng(seed).choice(len(train), s.max_train_windows,
                                                           replace=False))
        train = train.subset(pick)
    x, y = model_inputs(kind, train, n_leads, context), train.y
    vx, vy = model_inputs(kind, val, n_leads, context), val.y
    length = sum(WINDOWS[kind])
    if x.shape[1] != length:
        raise ValueError(f"{kind} windows must be {length} samples, got {x.shape[1]}")

    t0 = time.time()
    phases = []
    if init is None:
        model = new_model(kind, x.shape[2], s)
        phases.append(_fit(model, (x, y), (vx, vy), out_dir=out_dir, name=kind, kind=kind,
                           epochs=epochs, lr=s.learning_rate or DEFAULT_LR[kind], settings=s,
                           seed=seed, phase="full", context=context))
    else:
        import ecgtk.export.architecture  # noqa: F401  (registers WeightedSum)

        model = keras.models.load_model(str(init))
        if tuple(model.input_shape[1:]) != x.shape[1:]:
            raise ValueError(f"{init}: input {model.input_shape[1:]} does not fit "
                             f"{x.shape[1:]}")
        head_epochs = max(1, int(round(epochs * HEAD_EPOCH_SHARE)))
        _freeze_trunk(model, True)
        phases.append(_fit(model, (x, y), (vx, vy), out_dir=out_dir, name=kind, kind=kind,
                           epochs=head_epochs, lr=HEAD_LR, settings=s, seed=seed,
                           phase="head (trunk frozen)", context=context))
        _freeze_trunk(model, False)
        phases.append(_fit(model, (x, y), (vx, vy), out_dir=out_dir, name=kind, kind=kind,
                           epochs=max(1, epochs - head_epochs), lr=FINE_TUNE_LR, settings=s,
                           seed=seed + 1, phase="all layers", context=context))
    seconds = time.time() - t0

    p_val = predict_proba(model, vx)
    threshold = choose_threshold(kind, p_val, val)
    path = out_dir / f"{kind}.keras"
    model.save(str(path))
    info = {
        "kind": kind,
        "classes": list(CLASSES[kind]),
        "window": list(WINDOWS[kind]),
        "rate_hz": MODEL_RATE_HZ,
        "n_leads": n_leads,
        "context": context,
        "seed": seed,
        "init": str(init) if init else None,
        "train_records": sorted(set(train.record.tolist())),
        "val_records": sorted(set(val.record.tolist())),
        "train_counts": train.counts(),
        "val_counts": val.counts(),
        "parameters": int(model.count_params()),
        "train_seconds": round(seconds, 1),
        "phases": phases,
        "threshold": threshold,
        "settings": asdict(s),
        "augment": _resolved_augment(s, kind),
        **(extra_info or {}),
    }
    (out_dir / f"{kind}.train.json").write_text(json.dumps(info, indent=2, default=str))
    return path, info


def trained_before(out_dir: Path, kind: str) -> tuple[Path, dict] | None:
    """``(path, facts)`` of a ``kind`` model that :func:`train_windows` already finished in
    ``out_dir`` (both its ``.keras`` and ``.train.json`` exist), else None: lets long runs
    resume after an interruption. Delete the files to retrain."""
    path, facts = Path(out_dir) / f"{kind}.keras", Path(out_dir) / f"{kind}.train.json"
    if path.is_file() and facts.is_file():
        info = json.loads(facts.read_text())
        info.setdefault("context", DEFAULT_CONTEXT[kind])  # written before models could choose
        return path, info
    return None


def train_model(kind: str, train_records: Sequence[str], val_records: Sequence[str],
                data_dirs: Sequence[str | Path] | str | Path, out_dir: str | Path, init=None,
                epochs: int | None = None, seed: int = 0, *, settings: TrainSettings | None = None,
                cache_dir: str | Path | None = None, data_seed: int = 0) -> Path:
    """Train model ``kind`` (``"beat"`` or ``"ventricular"``) on ``train_records``, stopping
    early on ``val_records`` (patients must not overlap); returns the ``.keras`` path.

    ``init``: a ``.keras`` model to fine-tune (head first with the trunk frozen, then all layers
    at a low learning rate). ``data_seed`` seeds the window sampling (cached per record).
    """
    from ecgtk.export.dataset import build_training_windows, patient_of, training_window_fields

    shared = {patient_of(r) for r in train_records} & {patient_of(r) for r in val_records}
    if shared:
        raise ValueError(f"patients {sorted(shared)} are in both training and validation")
    train = build_training_windows(kind, data_dirs, train_records, seed=data_seed,
                                   cache_dir=cache_dir)
    val = build_windows(kind, data_dirs, val_records, seed=data_seed, cache_dir=cache_dir)
    data = {"data_dirs": [str(d) for d in ([data_dirs] if isinstance(data_dirs, (str, Path))
                                           else data_dirs)],
            "windows": training_window_fields(kind)}
    path, _ = train_windows(kind, train, val, out_dir, init=init, epochs=epochs, seed=seed,
                            settings=settings, extra_info=data)
    return path
