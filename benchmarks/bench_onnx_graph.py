"""Keras vs tf2onnx's ONNX graph vs the hand-written ONNX graph, windows per second on CPU.

    python -m benchmarks.bench_onnx_graph [--threads 1 2] [--windows 2048] [--repeat 5]
        [--batch 1024] [--small-batch 128] [--no-built] [--json FILE]

Models: the shipped ``models/beat.keras`` and ``models/ventricular.keras`` (whatever input
shape they have), and, unless ``--no-built``, an untrained ``build_model(300, 6)`` (model 2
with context channels). Each is exported both ways with
:func:`ecgtk.export.onnx_export.export_onnx` (``converter="tf2onnx"`` and ``"direct"``, with
the Monte-Carlo passes ``ecgtk export`` adds, parity-checked against Keras) into a temporary
folder, plus the direct graph with native 1-D convolutions (``conv_rank=1``). Inputs are real
normalised windows of the shipped sample (:func:`ecgtk.export.commands.sample_windows`),
tiled to ``--windows``.

For each thread count a fresh worker process (TensorFlow's thread pools are fixed at start)
times, interleaved and best of ``--repeat``, one pass over the windows in batches of
``--batch``:

- ``keras``: ``model.predict(windows, batch_size=batch)`` with TensorFlow's intra- and
  inter-op threads set to the thread count (the original framework's setup);
- ONNX Runtime sessions (``intra_op_num_threads`` = thread count, all outputs fetched, one
  ``run`` per batch): ``tf2onnx`` and ``direct`` at graph optimisation level "all" (the
  default), and the variants ``direct nchwc-off`` (level all without the NCHWc layout
  transformer), ``direct extended`` / ``direct basic`` (lower levels), ``direct conv1d``
  and ``tf2onnx nchwc-off``;
- ``keras`` and ``direct`` again at ``--small-batch`` (rows ``keras b128``, ``direct b128``):
  smaller batches keep ONNX Runtime's activations in cache.

Then, on one thread, an ONNX Runtime profile of the ``direct`` and ``tf2onnx`` graphs
(share of kernel time per op type, top nodes) and the op types of the optimised graphs.

JSON (``--json``): ``{"machine": {...}, "settings": {...}, "models": {name: {"input_shape",
"mc_passes", "exports": {converter: {"max_abs_diff", "seconds_convert", "size_bytes"}},
"threads": {"1": {variant: windows_per_s}, ...}, "ratios": {"1": {"direct/keras",
"direct/tf2onnx", "tf2onnx/keras"}, ...}, "profile": {graph: {"op_share", "top_nodes",
"optimized_ops"}}}}}``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
#: ONNX Runtime variants: name -> (graph, optimisation level, disabled optimisers).
ORT_VARIANTS = {
    "tf2onnx": ("tf2onnx", "all", ()),
    "direct": ("direct", "all", ()),
    "direct nchwc-off": ("direct", "all", ("NchwcTransformer",)),
    "direct extended": ("direct", "extended", ()),
    "direct basic": ("direct", "basic", ()),
    "direct conv1d": ("direct_conv1d", "all", ()),
    "tf2onnx nchwc-off": ("tf2onnx", "all", ("NchwcTransformer",)),
}
#: Variants also timed at ``--small-batch`` (rows named "<variant> b<size>").
SMALL_BATCH_VARIANTS = ("keras", "direct")
PROFILED = ("direct", "tf2onnx")


# --- preparation (parent process) ----------------------------------------------------------


def _case_windows(channels: int, length: int, n: int) -> np.ndarray:
    """``n`` real normalised windows ``(n, length, channels)`` of the shipped sample (tiled),
    with the context channels of model 2 when ``channels`` is more than 2."""
    from ecgtk.export.commands import sample_windows
    from ecgtk.inference.inputs import leads_of_context_input

    context = length == 300 and channels > 2
    leads = leads_of_context_input(channels) if context else channels
    windows = sample_windows(length // 2, length - length // 2, leads, limit=n, context=context)
    return np.resize(windows, (n, length, channels)).astype(np.float32)


def _export_case(name: str, keras_path: Path, out: Path, n_windows: int) -> dict:
    """Export one ``.keras`` model both ways (and the 1-D conv variant) into ``out``."""
    from ecgtk.export.onnx_direct import build_onnx
    from ecgtk.export.onnx_export import export_onnx, load_keras_model
    from ecgtk.export.reproduce import MC_PASSES

    model = load_keras_model(keras_path)
    _, length, channels = model.input_shape
    windows = _case_windows(channels, length, n_windows)
    np.save(out / f"{name}.windows.npy", windows)
    mc_passes = MC_PASSES["ventricular" if length == 300 else "beat"]
    meta = {"classes": ["a", "b"], "input_leads": [f"c{i}" for i in range(channels)]}
    exports = {}
    for converter in ("tf2onnx", "direct"):
        report = export_onnx(model, out / f"{name}.{converter}.onnx", metadata=meta,
                             parity_windows=windows[:512], mc_passes=mc_passes,
                             converter=converter)
        exports[converter] = {key: report[key] for key in ("max_abs_diff", "seconds_convert",
                                                           "size_bytes")}
    masks = None
    if mc_passes:
        from ecgtk.export.mc_dropout import DEFAULT_SEED, dropout_masks

        kernel = model.get_layer("probabilities").kernel
        masks = dropout_masks(kernel.shape[0], model.get_layer("dropout").rate, mc_passes,
                              DEFAULT_SEED)
    conv1d = build_onnx(model, masks=masks, conv_rank=1)
    (out / f"{name}.direct_conv1d.onnx").write_bytes(conv1d.SerializeToString())
    return {"name": name, "keras": str(keras_path), "input_shape": [length, channels],
            "mc_passes": mc_passes, "exports": exports}


def prepare(out: Path, n_windows: int, built: bool) -> list[dict]:
    """Export every benchmarked model into ``out``; returns one case dict per model."""
    cases = [_export_case(name, MODELS_DIR / f"{name}.keras", out, n_windows)
             for name in ("beat", "ventricular") if (MODELS_DIR / f"{name}.keras").is_file()]
    if built:
        from ecgtk.export.architecture import build_model

        path = out / "built_300x6.keras"
        build_model(300, 6).save(path)
        cases.append(_export_case("built_300x6", path, out, n_windows))
    return cases


# --- timing (worker process, one thread count) --------------------------------------------


def _session(path: Path, threads: int, level: str = "all", disabled=(),
             profile_prefix: str | None = None):
    import onnxruntime as ort

    levels = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = levels[level]
    options.log_severity_level = 3
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                disabled_optimizers=list(disabled))


def _ort_pass(session) -> Callable[[np.ndarray, int], None]:
    """One pass of an ONNX Runtime session over ``windows`` in batches (all outputs)."""
    def run(windows: np.ndarray, batch: int) -> None:
        for start in range(0, len(windows), batch):
            session.run(None, {"window": windows[start:start + batch]})
    return run


def time_case(case: dict, folder: Path, threads: int, batch: int, small_batch: int,
              repeat: int) -> dict[str, float]:
    """Windows per second of Keras and every ONNX Runtime variant, interleaved, best of
    ``repeat`` (after one warm-up pass each)."""
    from ecgtk.export.onnx_export import load_keras_model

    name = case["name"]
    windows = np.load(folder / f"{name}.windows.npy")
    model = load_keras_model(case["keras"])
    passes = {"keras": lambda w, b: model.predict(w, batch_size=b, verbose=0)}
    for variant, (graph, level, disabled) in ORT_VARIANTS.items():
        passes[variant] = _ort_pass(_session(folder / f"{name}.{graph}.onnx", threads, level,
                                             disabled))
    runs = {variant: (fn, batch) for variant, fn in passes.items()}
    if small_batch:
        runs.update({f"{variant} b{small_batch}": (passes[variant], small_batch)
                     for variant in SMALL_BATCH_VARIANTS})
    best = dict.fromkeys(runs, float("inf"))
    for fn, size in runs.values():
        fn(windows, size)
    for _ in range(repeat):
        for variant, (fn, size) in runs.items():
            t0 = time.perf_counter()
            fn(windows, size)
            best[variant] = min(best[variant], time.perf_counter() - t0)
    return {variant: round(len(windows) / seconds, 1) for variant, seconds in best.items()}


def profile_graph(path: Path, windows: np.ndarray, batch: int, tmp: Path) -> dict:
    """ONNX Runtime profile on one thread: share of kernel time per op type and top nodes,
    and the op types of the optimised graph (level all)."""
    import onnx
    import onnxruntime as ort

    session = _session(path, 1, profile_prefix=str(tmp / f"{path.stem}.profile"))
    for _ in range(3):
        session.run(None, {"window": windows[:batch]})
    events = json.loads(Path(session.end_profiling()).read_text())
    by_op: collections.Counter = collections.Counter()
    by_node: collections.Counter = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"]
            by_node[event["name"].removesuffix("_kernel_time")] += event["dur"]
    total = sum(by_op.values()) or 1
    optimized = tmp / f"{path.stem}.optimized.onnx"
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.optimized_model_filepath = str(optimized)
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    ops = collections.Counter(node.op_type for node in onnx.load(optimized).graph.node)
    return {
        "op_share": {op: round(100 * t / total, 1) for op, t in by_op.most_common()},
        "top_nodes": {node: round(100 * t / total, 1) for node, t in by_node.most_common(8)},
        "optimized_ops": dict(ops.most_common()),
    }


def worker(spec: dict) -> dict:
    """One thread count: set TensorFlow's threads before it starts, then time every case."""
    threads = spec["threads"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    folder = Path(spec["folder"])
    result: dict = {}
    for case in spec["cases"]:
        timing = time_case(case, folder, threads, spec["batch"], spec["small_batch"],
                           spec["repeat"])
        entry: dict = {"windows_per_s": timing}
        if spec["profile"]:
            windows = np.load(folder / f"{case['name']}.windows.npy")
            with tempfile.TemporaryDirectory() as tmp:
                entry["profile"] = {
                    graph: profile_graph(folder / f"{case['name']}.{graph}.onnx", windows,
                                         spec["batch"], Path(tmp)) for graph in PROFILED}
        result[case["name"]] = entry
    return result


# --- report --------------------------------------------------------------------------------


def ratios(speeds: dict[str, float]) -> dict[str, float]:
    return {"direct/keras": round(speeds["direct"] / speeds["keras"], 2),
            "direct/tf2onnx": round(speeds["direct"] / speeds["tf2onnx"], 2),
            "tf2onnx/keras": round(speeds["tf2onnx"] / speeds["keras"], 2)}


def print_report(report: dict) -> None:
    threads = report["settings"]["threads"]
    for name, model in report["models"].items():
        print(f"\n{name}  input {tuple(model['input_shape'])}  mc_passes {model['mc_passes']}"
              f"  parity " + ", ".join(f"{c} {e['max_abs_diff']:.1e}"
                                       for c, e in model["exports"].items()))
        header = "".join(f"{f'{t} thr win/s':>14}{'x keras':>9}" for t in threads)
        print(f"  {'variant':<20}{header}")
        for variant in model["threads"][str(threads[0])]:
            cells = ""
            for t in threads:
                speeds = model["threads"][str(t)]
                cells += f"{speeds[variant]:>14,.0f}{speeds[variant] / speeds['keras']:>8.2f}x"
            print(f"  {variant:<20}{cells}")
        for t in threads:
            print(f"  ratios at {t} thread(s): {model['ratios'][str(t)]}")
        for graph, prof in model.get("profile", {}).items():
            top = ", ".join(f"{op} {share}%" for op, share in list(prof["op_share"].items())[:8])
            print(f"  profile {graph} (1 thread): {top}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--windows", type=int, default=2048, help="windows per timed pass")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--small-batch", type=int, default=128,
                        help="also time keras and direct at this batch size (0: no)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes (best kept)")
    parser.add_argument("--no-built", action="store_true", help="skip build_model(300, 6)")
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as tmp:
        cases = prepare(Path(tmp), args.windows, built=not args.no_built)
        models = {case["name"]: {**case, "threads": {}, "ratios": {}} for case in cases}
        for threads in args.threads:
            spec = {"threads": threads, "folder": tmp, "cases": cases, "batch": args.batch,
                    "small_batch": args.small_batch, "repeat": args.repeat,
                    "profile": threads == min(args.threads)}
            done = subprocess.run([sys.executable, "-m", "benchmarks.bench_onnx_graph",
                                   "--worker", json.dumps(spec)], capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"worker at {threads} thread(s) failed:\n{done.stderr[-4000:]}")
            for name, entry in json.loads(done.stdout.strip().splitlines()[-1]).items():
                models[name]["threads"][str(threads)] = entry["windows_per_s"]
                models[name]["ratios"][str(threads)] = ratios(entry["windows_per_s"])
                if "profile" in entry:
                    models[name]["profile"] = entry["profile"]
    import onnxruntime
    import tensorflow as tf

    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor(), "onnxruntime": onnxruntime.__version__,
                    "tensorflow": tf.__version__,
                    "load_average": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"threads": args.threads, "windows": args.windows, "batch": args.batch,
                     "small_batch": args.small_batch, "repeat": args.repeat},
        "models": {name: {k: v for k, v in model.items() if k != "keras"}
                   for name, model in models.items()},
    }
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
