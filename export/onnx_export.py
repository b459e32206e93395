"""Keras -> ONNX export with a parity check, and reading a model's ONNX metadata.

Two converters, chosen by ``export_onnx(..., converter=...)`` and recorded in the ``exporter``
metadata:

- ``"direct"`` (default): :mod:`ecgtk.export.onnx_direct` writes the graph from the Keras
  model's weights with ``onnx.helper``, laid out for ONNX Runtime on CPU (BatchNorm folded
  into the convolutions, one transpose in, one before the LSTM); about twice as fast as
  tf2onnx's graph (``python -m benchmarks.bench_onnx_graph``).
- ``"tf2onnx"``: traces the model with TensorFlow and converts the trace, as below.

Both go through the same parity check against Keras. How the tf2onnx export works with
Keras 3 (TensorFlow 2.21, Keras 3.15, tf2onnx 1.17):

1. load the ``.keras`` file (``keras.models.load_model(path, compile=False)``; importing
   :mod:`ecgtk.export.architecture` registers its one custom layer);
2. :func:`~ecgtk.export.architecture.clone_for_export` copies it with ``use_cudnn=False`` on
   the LSTMs, so the traced graph is the portable ``While``-loop LSTM even on a GPU machine
   (Keras 3 otherwise emits ``CudnnRNNV3`` whenever a GPU is visible);
3. wrap it in ``tf.function(input_signature=[tf.TensorSpec((None, L, C), tf.float32,
   name="window")])`` returning ``{"probabilities": model(window, training=False)}`` and call
   ``tf2onnx.convert.from_function(fn, input_signature=..., opset=17)``. tf2onnx's rewriter
   turns each LSTM direction into one ONNX ``LSTM`` node. The batch axis stays dynamic.

(``tf2onnx.convert.from_keras`` also works on Keras 3 models with tf2onnx 1.17; ``from_function``
is used because it names the output explicitly and is what Grad-CAM's export needs anyway.)

Metadata goes into the ONNX ``metadata_props`` as strings (lists and numbers JSON-encoded).
:func:`read_onnx_metadata` reads them with onnxruntime alone: this module imports TensorFlow,
tf2onnx and onnx only inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "cpu_session",
    "export_onnx",
    "load_keras_model",
    "read_onnx_metadata",
    "sha256_file",
    "write_onnx_atomic",
]

DEFAULT_RATE_HZ = 360
PREDICT_BATCH = 256
#: Batch sizes the exported graph is run at, besides the parity batch (dynamic batch check).
CHECK_BATCH_SIZES = (1, 1000)
#: ``export_onnx(converter=...)`` values; the first is the default.
CONVERTERS = ("direct", "tf2onnx")


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cpu_session(path_or_bytes: str | os.PathLike | bytes, threads: int | None = None):
    """An onnxruntime session on the CPU execution provider (``threads`` intra-op threads)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    source = path_or_bytes if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    return ort.InferenceSession(source, sess_options=options,
                                providers=["CPUExecutionProvider"])


def read_onnx_metadata(path: str | os.PathLike, *, decode: bool = False) -> dict[str, Any]:
    """The model's ``metadata_props`` as ``{key: str}`` (onnxruntime only, no TensorFlow).

    With ``decode=True`` values that parse as JSON (numbers, lists) are returned decoded.
    """
    session = cpu_session(path, threads=1)
    props = dict(session.get_modelmeta().custom_metadata_map)
    if not decode:
        return props
    out: dict[str, Any] = {}
    for key, value in props.items():
        try:
            out[key] = json.loads(value)
        except (ValueError, TypeError):
            out[key] = value
    return out


def load_keras_model(path: str | os.PathLike):
    """Load a ``.keras`` file saved from :func:`~ecgtk.export.architecture.build_model`."""
    import keras

    from ecgtk.export import architecture  # noqa: F401  (registers ecgtk>WeightedSum)

    return keras.models.load_model(path, compile=False)


def _as_prop(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def write_onnx_atomic(model_proto, out_path: str | os.PathLike, check=None) -> Path:
    """Write ``model_proto`` to a temporary file next to ``out_path``, call ``check(tmp_path)``
    (which may raise), then rename it into place. Nothing is left behind on failure."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(model_proto.SerializeToString())
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, out_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return out_path


def _set_metadata(model_proto, props: dict[str, str]) -> None:
    existing = {p.key: p.value for p in model_proto.metadata_props}
    existing.update(props)
    del model_proto.metadata_props[:]
    for key, value in existing.items():
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, value


def _check_windows(windows: np.ndarray, length: int, channels: int, what: str) -> np.ndarray:
    windows = np.asarray(windows)
    if windows.ndim != 3 or windows.shape[1:] != (length, channels) or len(windows) == 0:
        raise ValueError(f"{what} must be (n >= 1, {length}, {channels}), got {windows.shape}")
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    if not np.isfinite(windows).all():
        raise ValueError(f"{what} must be finite (normalised model inputs)")
    return windows


def _keras_predict(model, windows: np.ndarray) -> np.ndarray:
    """The reference: Keras inference-mode predictions, float32."""
    out = [np.asarray(model(windows[i:i + PREDICT_BATCH], training=False))
           for i in range(0, len(windows), PREDICT_BATCH)]
    return np.concatenate(out).astype(np.float32)


def _onnx_predict(session, windows: np.ndarray, batch: int = PREDICT_BATCH,
                  output: str | None = None) -> np.ndarray:
    from ecgtk.export.architecture import OUTPUT_NAME

    name = session.get_inputs()[0].name
    out = [session.run([output or OUTPUT_NAME], {name: windows[i:i + batch]})[0]
           for i in range(0, len(windows), batch)]
    return np.concatenate(out).astype(np.float32)


def _model_io(model) -> tuple[int, int, int]:
    _, length, channels = model.inputs[0].shape
    n_classes = model.outputs[0].shape[-1]
    if length is None or channels is None:
        raise ValueError(f"model input must have a fixed window shape, got {model.inputs[0].shape}")
    return int(length), int(channels), int(n_classes)


def _convert(model, length: int, channels: int, opset: int, masks: np.ndarray | None = None,
             converter: str = CONVERTERS[0]) -> tuple[Any, str]:
    """Keras model -> ``(ONNX ModelProto, exporter description)`` (dynamic batch, input
    "window", output "probabilities"; with dropout ``masks`` also "p_passes", see
    :mod:`ecgtk.export.mc_dropout`) with the ``converter`` named (one of :data:`CONVERTERS`)."""
    if converter == "direct":
        import onnx

        import ecgtk
        from ecgtk.export.onnx_direct import EXPORTER_NAME, build_onnx

        return (build_onnx(model, masks=masks, opset=opset),
                f"{EXPORTER_NAME} {ecgtk.__version__} (onnx {onnx.__version__})")
    return _convert_tf2onnx(model, length, channels, opset, masks)


def _convert_tf2onnx(model, length: int, channels: int, opset: int,
                     masks: np.ndarray | None = None) -> tuple[Any, str]:
    """The ``"tf2onnx"`` converter of :func:`_convert`."""
    import tensorflow as tf
    import tf2onnx

    from ecgtk.export.architecture import INPUT_NAME, OUTPUT_NAME, clone_for_export
    from ecgtk.export.mc_dropout import PASSES_OUTPUT_NAME, passes_graph

    portable = clone_for_export(model)
    spec = (tf.TensorSpec((None, length, channels), tf.float32, name=INPUT_NAME),)
    with_passes = passes_graph(portable, masks) if masks is not None else None

    @tf.function(input_signature=spec)
    def forward(window):
        if with_passes is None:
            return {OUTPUT_NAME: portable(window, training=False)}
        probabilities, passes = with_passes(window)
        return {OUTPUT_NAME: probabilities, PASSES_OUTPUT_NAME: passes}

    model_proto, _ = tf2onnx.convert.from_function(forward, input_signature=spec, opset=opset)
    return model_proto, f"tf2onnx {tf2onnx.__version__} from_function"


def model_and_sha256(keras_path_or_model) -> tuple[Any, str]:
    """The Keras model, and the sha256 of its ``.keras`` file ("" for an in-memory model)."""
    if isinstance(keras_path_or_model, (str, os.PathLike)):
        return load_keras_model(keras_path_or_model), sha256_file(keras_path_or_model)
    return keras_path_or_model, ""


def export_onnx(
    keras_path_or_model,
    out_path: str | os.PathLike,
    *,
    metadata: dict[str, Any],
    parity_windows: np.ndarray,
    opset: int = 17,
    tolerance: float = 1e-4,
    mc_passes: int = 0,
    converter: str = CONVERTERS[0],
) -> dict[str, Any]:
    """Export a Keras model to ONNX, check it against Keras, and write it atomically.

    ``keras_path_or_model``: a ``.keras`` file (its sha256 is recorded) or a ``keras.Model``;
    or a list of them, the members of an ensemble (:mod:`ecgtk.export.ensemble`: trainings
    of one architecture whose probabilities the graph averages; ``keras_sha256`` then lists
    each member's, comma-separated, and the metadata ``ensemble_members`` says how many).
    ``metadata`` adds to / overrides the default ONNX metadata: ``rate_hz`` (360),
    ``window_before`` / ``window_after`` (``L // 2`` and the rest; their sum must be ``L``),
    ``classes`` (JSON list, one per output), ``input_leads`` (JSON list, one per channel),
    ``training_data``; non-string values are JSON-encoded. Always set: ``ecgtk_version``,
    ``keras_sha256`` (empty for an in-memory model), ``opset``, ``input_name``,
    ``output_name``, ``input_length``, ``n_channels``, ``exporter``.

    ``parity_windows`` ``(n, L, C)``: real, normalised model inputs. Keras and onnxruntime
    (CPU) predictions on them must agree within ``tolerance`` (max abs difference), and the
    graph must give the same answers at batch sizes 1 and 1000; otherwise ValueError and
    nothing is written.

    ``mc_passes`` > 0 adds the output ``p_passes`` of that many Monte-Carlo dropout passes
    (:mod:`ecgtk.export.mc_dropout`), checked against Keras the same way, and the metadata
    ``mc_passes``, ``mc_seed`` and ``mc_dropout_rate``; an ensemble's members share them out
    (``mc_passes / members`` each, with the same masks, member 0's first).

    ``converter``: ``"direct"`` (default, :mod:`ecgtk.export.onnx_direct`) or ``"tf2onnx"``
    (see the module docstring); either way the same checks.

    Returns ``{"path", "max_abs_diff", "opset", "n_windows", "sha256", "size_bytes",
    "batch_sizes_checked", "seconds_convert", "seconds_check", "metadata"}``.
    """
    import ecgtk

    if converter not in CONVERTERS:
        raise ValueError(f"converter must be one of {CONVERTERS}, got {converter!r}")
    t0 = time.perf_counter()
    sources = (list(keras_path_or_model) if isinstance(keras_path_or_model, (list, tuple))
               else [keras_path_or_model])
    if not sources:
        raise ValueError("no model to export")
    loaded = [model_and_sha256(source) for source in sources]
    models = [model for model, _ in loaded]
    keras_sha = ",".join(sha for _, sha in loaded)
    length, channels, n_classes = _model_io(models[0])
    if any(_model_io(m) != (length, channels, n_classes) for m in models[1:]):
        raise ValueError("ensemble members must share their input and output shapes: "
                         f"{[_model_io(m) for m in models]}")
    from ecgtk.export.ensemble import merge_members, passes_per_member

    per_member = passes_per_member(mc_passes, len(models))
    windows = _check_windows(parity_windows, length, channels, "parity_windows")

    before = length // 2
    props: dict[str, str] = {
        "rate_hz": str(DEFAULT_RATE_HZ),
        "window_before": str(before),
        "window_after": str(length - before),
        "classes": json.dumps([f"class{i}" for i in range(n_classes)]),
        "input_leads": json.dumps([f"lead{i}" for i in range(channels)]),
        "training_data": "unspecified",
    }
    props.update({str(k): _as_prop(v) for k, v in metadata.items()})
    from ecgtk.export.architecture import INPUT_NAME, OUTPUT_NAME

    props.update({
        "ecgtk_version": ecgtk.__version__,
        "keras_sha256": keras_sha,
        "opset": str(opset),
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_length": str(length),
        "n_channels": str(channels),
        "ensemble_members": str(len(models)),
    })
    if int(props["window_before"]) + int(props["window_after"]) != length:
        raise ValueError(f"window_before + window_after = {props['window_before']} + "
                         f"{props['window_after']} != model input length {length}")
    for key, count in (("classes", n_classes), ("input_leads", channels)):
        values = json.loads(props[key])
        if not isinstance(values, list) or len(values) != count:
            raise ValueError(f"metadata {key!r} must be a JSON list of {count}, got {props[key]}")

    masks = passes_reference = None
    if mc_passes:
        from ecgtk.export.mc_dropout import DEFAULT_SEED, dropout_masks, head_of, keras_passes

        _, rate, kernel, _ = head_of(models[0])
        masks = dropout_masks(kernel.shape[0], rate, per_member, DEFAULT_SEED)
        passes_reference = np.concatenate([keras_passes(m, windows, masks) for m in models],
                                          axis=1)
        props.update({"mc_passes": str(mc_passes), "mc_seed": str(DEFAULT_SEED),
                      "mc_dropout_rate": str(rate)})
    converted = [_convert(m, length, channels, opset, masks, converter) for m in models]
    props["exporter"] = converted[0][1]
    if len(models) == 1:
        model_proto = converted[0][0]
    else:
        model_proto = merge_members([proto for proto, _ in converted])
    _set_metadata(model_proto, props)
    t_convert = time.perf_counter() - t0

    reference = np.mean([_keras_predict(m, windows) for m in models], axis=0)
    report: dict[str, Any] = {}

    def check(tmp_path: Path) -> None:
        session = cpu_session(tmp_path)
        got = _onnx_predict(session, windows)
        if got.shape != reference.shape:
            raise ValueError(f"ONNX output shape {got.shape} != Keras {reference.shape}")
        diff = float(np.max(np.abs(got - reference)))
        if not diff <= tolerance:
            raise ValueError(f"ONNX/Keras parity failed: max abs difference {diff:.3g} > "
                             f"tolerance {tolerance:.3g} on {len(windows)} windows")
        if passes_reference is not None:
            from ecgtk.export.mc_dropout import PASSES_OUTPUT_NAME

            passes = _onnx_predict(session, windows, output=PASSES_OUTPUT_NAME)
            passes_diff = float(np.max(np.abs(passes - passes_reference)))
            if not passes_diff <= tolerance:
                raise ValueError(f"ONNX/Keras parity of the dropout passes failed: max abs "
                                 f"difference {passes_diff:.3g} > tolerance {tolerance:.3g}")
            report["max_abs_diff_passes"] = passes_diff
        # Dynamic batch: the same rows at other batch sizes give the same answers.
        for batch in CHECK_BATCH_SIZES:
            rows = np.resize(np.arange(len(windows)), batch)
            out = session.run([OUTPUT_NAME], {INPUT_NAME: windows[rows]})[0]
            if out.shape != (batch, n_classes):
                raise ValueError(f"ONNX output at batch {batch} has shape {out.shape}")
            batch_diff = float(np.max(np.abs(out - got[rows])))
            if not batch_diff <= tolerance:
                raise ValueError(f"ONNX output at batch {batch} differs by {batch_diff:.3g}")
        report["max_abs_diff"] = diff

    t1 = time.perf_counter()
    path = write_onnx_atomic(model_proto, out_path, check)
    report.update({
        "path": str(path),
        "opset": opset,
        "n_windows": len(windows),
        "sha256": sha256_file(path),
        "size_bytes": path.stat().st_size,
        "batch_sizes_checked": [len(windows), *CHECK_BATCH_SIZES],
        "seconds_convert": round(t_convert, 3),
        "seconds_check": round(time.perf_counter() - t1, 3),
        "metadata": props,
    })
    return report
