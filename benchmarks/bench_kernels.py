"""Time the resampling and window kernels on realistic sizes.

    python -m benchmarks.bench_kernels [--hours 24] [--repeat 3] [--all-rates]

- resample_poly: a 2-lead recording at 250 Hz (24 h by default) to the models' 360 Hz, Numba
  kernel vs ``scipy.signal.resample_poly`` (skipped when scipy is missing); ``--all-rates``
  adds 128, 500 and 1000 Hz.
- slice_windows: 100k windows of 50+50 and 150+150 samples from a 2-lead 360 Hz signal, Numba
  kernel vs the numpy reference (``np.pad`` + fancy indexing).
- rr_intervals: 100k beats, Numba vs numpy reference.
- running_median: the RR intervals of 100k beats, window 17 (the validation rules' and model
  2's local rhythm), and the column medians of 2-lead block maxima; Numba's sorted window vs
  ``np.median`` over a sliding-window view.
- kmeans: one grouping of a day's beats (100k rows of 120 features, 20 clusters) as the
  templates run it (``ecgtk.kernels.kmeans``, one start) vs the ``MiniBatchKMeans`` of
  scikit-learn that 0.5.2 ran (best of 3 starts; skipped when scikit-learn is missing; its
  import, about 0.5 s more, not counted), on the sample's beats and on 12 separated random
  shapes (a hard case for Lloyd's iterations); then three seeds at once on threads, as
  ``ecgtk run`` groups a recording.

Times are seconds, best of ``--repeat`` runs, after one warm-up call (JIT compile or cache load).
ratio = other / kernel (> 1: the kernel is faster). Everything but K-means runs on one
thread.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from ecgtk.concurrency import map_in_order
from ecgtk.kernels.kmeans import kmeans
from ecgtk.kernels.medians import running_median, running_median_reference
from ecgtk.kernels.resample import resample_poly, resample_ratio
from ecgtk.kernels.windows import (
    rr_intervals,
    rr_intervals_reference,
    slice_windows,
    slice_windows_reference,
)
from ecgtk.labelling.templates import KMEANS_STARTS, N_START

MODEL_FS = 360


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def row(task: str, size: str, kernel_s: float, other: str, other_s: float | None) -> str:
    if other_s is None:
        return f"{task:<24} {size:<30} {kernel_s:>9.4f} {other:<10} {'-':>9} {'-':>7}"
    ratio = other_s / kernel_s
    return f"{task:<24} {size:<30} {kernel_s:>9.4f} {other:<10} {other_s:>9.4f} {ratio:>6.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="recording length (h)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best kept)")
    parser.add_argument("--windows", type=int, default=100_000, help="windows / beats")
    parser.add_argument("--all-rates", action="store_true", help="also 128, 500, 1000 Hz")
    args = parser.parse_args()

    try:
        import scipy.signal as scipy_signal
    except ImportError:  # scipy is for comparison only
        scipy_signal = None

    rng = np.random.default_rng(0)
    header = f"{'task':<24} {'size':<30} {'kernel s':>9} {'vs':<10} {'other s':>9} {'ratio':>7}"
    print(header)
    print("-" * len(header))

    rates = [250] + ([128, 500, 1000] if args.all_rates else [])
    for fs in rates:
        n = int(args.hours * 3600 * fs)
        x = rng.standard_normal((n, 2)).astype(np.float32)
        up, down = resample_ratio(fs, MODEL_FS)
        resample_poly(x[:10_000], up, down)  # warm-up
        t_kernel = best_of(lambda x=x, up=up, down=down: resample_poly(x, up, down), args.repeat)
        t_scipy = None
        if scipy_signal is not None:
            t_scipy = best_of(
                lambda x=x, up=up, down=down: scipy_signal.resample_poly(x, up, down, axis=0),
                args.repeat,
            )
        size = f"{args.hours:g} h x2 {fs}->{MODEL_FS} Hz ({up}/{down})"
        print(row("resample_poly", size, t_kernel, "scipy", t_scipy))
        del x

    n = int(args.hours * 3600 * MODEL_FS)
    signal = rng.standard_normal((n, 2)).astype(np.float32)
    centers = np.sort(rng.integers(0, n, size=args.windows))
    for half in (50, 150):
        slice_windows(signal[:1000], centers[:10] % 1000, half, half)  # warm-up
        t_kernel = best_of(lambda h=half: slice_windows(signal, centers, h, h), args.repeat)
        t_ref = best_of(lambda h=half: slice_windows_reference(signal, centers, h, h), args.repeat)
        size = f"{args.windows:,} x {2 * half} x2 leads"
        print(row("slice_windows", size, t_kernel, "reference", t_ref))

    beats = np.unique(centers)
    rr_intervals(beats[:10], MODEL_FS)  # warm-up
    t_kernel = best_of(lambda: rr_intervals(beats, MODEL_FS), args.repeat)
    t_ref = best_of(lambda: rr_intervals_reference(beats, MODEL_FS), args.repeat)
    print(row("rr_intervals", f"{len(beats):,} beats", t_kernel, "reference", t_ref))

    rr = np.diff(beats).astype(np.float64)
    for values, size, what in ((rr, 17, f"{len(rr):,} RR, window 17"),
                               (rng.random((len(rr), 2)), 9, f"{len(rr):,} x2, window 9")):
        running_median(values[:100], size)  # warm-up
        t_kernel = best_of(lambda v=values, s=size: running_median(v, s), args.repeat)
        t_ref = best_of(lambda v=values, s=size: running_median_reference(v, s), args.repeat)
        print(row("running_median", what, t_kernel, "reference", t_ref))

    try:
        from sklearn.cluster import MiniBatchKMeans
    except ImportError:  # scikit-learn is for comparison only
        MiniBatchKMeans = None
    for rows, what in ((sample_beats(args.windows, rng), "sample's beats"),
                       (separated_shapes(args.windows, rng), "12 separated shapes")):
        kmeans(rows[:1000], N_START, seed=0)  # warm-up
        t_kernel = best_of(lambda r=rows: kmeans(r, N_START, seed=0, n_init=KMEANS_STARTS),
                           args.repeat)
        t_other = None
        if MiniBatchKMeans is not None:
            t_other = best_of(lambda r=rows: MiniBatchKMeans(
                n_clusters=N_START, random_state=0, batch_size=4096, n_init=3).fit_predict(r),
                args.repeat)
        print(row("kmeans", f"{len(rows):,} x {rows.shape[1]}, {what}", t_kernel,
                  "sklearn MBK", t_other))
        # As ecgtk run groups a recording: three seeds at once on threads.
        t_kernel = best_of(lambda r=rows: three_on_threads(
            lambda seed: kmeans(r, N_START, seed=seed, n_init=KMEANS_STARTS)), args.repeat)
        if MiniBatchKMeans is not None:
            t_other = best_of(lambda r=rows: three_on_threads(lambda seed: MiniBatchKMeans(
                n_clusters=N_START, random_state=seed, batch_size=4096,
                n_init=3).fit_predict(r)), args.repeat)
        print(row("kmeans, 3 seeds on threads", f"{what}", t_kernel, "sklearn MBK", t_other))


def three_on_threads(group: Callable[[int], object]) -> list:
    """``group(seed)`` for seeds 0-2 on three threads at once, as ``decide_labels`` runs them."""
    return list(map_in_order(group, range(3), 3, name="ecgtk-templates"))


def sample_beats(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` beat shapes as the templates see them: the shipped sample's beats (detected,
    their two-lead windows at every 5th sample, z-scored), repeated with a little noise."""
    from ecgtk.bench.tiling import tiled_signal
    from ecgtk.kernels.rpeaks import detect_rpeaks
    from ecgtk.labelling.templates import zscore_rows

    digital, gain = tiled_signal(0.25)
    signal = digital / gain
    windows = slice_windows(signal, detect_rpeaks(signal, MODEL_FS), 150, 150)[:, ::5, :]
    shapes = zscore_rows(windows.transpose(0, 2, 1).reshape(len(windows), -1))
    rows = shapes[rng.integers(0, len(shapes), n)]
    return rows + 0.05 * rng.standard_normal(rows.shape).astype(np.float32)


def separated_shapes(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows of 12 random shapes with noise: fewer true clusters than K-means' 20, so its
    iterations split shapes and converge slowly (a hard case for ecgtk's Lloyd)."""
    shapes = rng.standard_normal((12, 120)).astype(np.float32)
    rows = shapes[rng.integers(0, 12, n)]
    return rows + 0.3 * rng.standard_normal(rows.shape).astype(np.float32)

if __name__ == "__main__":
    main()
