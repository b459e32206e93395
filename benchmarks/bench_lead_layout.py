"""Lead by lead or row by row? The detector's kernels on 10-minute chunks of 1-12 leads.

    python -m benchmarks.bench_lead_layout [--repeat 5]

A chunk is ``(n, leads)`` row-major, so a kernel that finishes one lead before the next reads
every row once per lead, which costs little for two leads and a lot for twelve; one that takes
every lead at each sample reads memory once but keeps each lead's running state in memory
instead of a register. The unusable mask (``kernels.quality``), the two-section band-pass
(``kernels.filters``) and the QRS feature (``kernels.qrs_feature``) have both layouts (the same
numbers bit for bit; tests/kernels); this times both, best of ``--repeat`` after a warm-up, on
an ECG-like signal (a beat every 0.8 s plus noise), and each module's ``LEAD_BY_LEAD_UP_TO``
is the largest lead count at which lead by lead was faster; the band-pass has a third layout,
rows through a buffer the compiler vectorises (``filters.ROW_BUFFER_FROM``: the smallest lead
count at which it was faster). Results:
``benchmarks/results/bench_lead_layout.json``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks import write_result
from ecgtk.kernels import filters, qrs_feature, quality
from ecgtk.kernels.leads import block_stats_step

#: ``(leads, Hz)``: Holter (2-3 leads at 128-360 Hz), and the 12-lead 1 kHz EDF.
LAYOUTS = ((1, 360.0), (2, 360.0), (3, 250.0), (3, 360.0), (4, 360.0), (6, 500.0),
           (8, 500.0), (12, 1000.0))


def chunk(n_leads: int, fs: float, seconds: float = 630.0, seed: int = 0) -> np.ndarray:
    """An ECG-like ``(n, leads)`` float32 chunk: a Gaussian beat every 0.8 s plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    beats = np.exp(-((t % 0.8) - 0.4) ** 2 / 0.0005)[:, None]
    return (beats + 0.05 * rng.standard_normal((len(t), n_leads))).astype(np.float32)


def kernels(x: np.ndarray, fs: float) -> dict[str, dict[str, callable]]:
    """Each kernel's layouts as calls on ``x``."""
    n, n_leads = x.shape
    window = int(round(0.5 * fs))
    unusable = quality.unusable_mask(x, fs)
    sos = np.ascontiguousarray(filters.bandpass_sos(3.0, 20.0, fs))
    zi, pad = filters.sos_initial_state(sos), min(filters.default_padlen(sos), n - 1)
    filtered = np.ascontiguousarray(filters.bandpass_zeroed(sos, x, unusable))
    block, half = int(round(2.5 * fs)), max(1, int(round(0.05 * fs)))
    step = block_stats_step(block)

    def band_lead_by_lead():
        ext = np.empty((n + 2 * pad, n_leads))
        for lead in range(n_leads):
            filters._two_section_forward_zeroed(sos, x, unusable, lead, zi, pad, ext)
            filters._two_section_pass(sos, ext, lead, zi, -1)

    def band_row_by_row():
        filters._two_section_rows_zeroed(sos, x, unusable, zi, pad, np.empty((n + 2 * pad,
                                                                                n_leads)))

    def band_rows_buffered():
        filters._two_section_rows_buffered(sos, x, unusable, zi, pad,
                                           np.empty((n + 2 * pad, n_leads)))

    return {
        "unusable mask": {"lead": lambda: quality._unusable_lead_by_lead(x, window, 0.01),
                          "row": lambda: quality._unusable_row_by_row(x, window, 0.01)},
        "band-pass": {"lead": band_lead_by_lead, "row": band_row_by_row,
                      "buffered": band_rows_buffered},
        "QRS feature": {
            "lead": lambda: qrs_feature._feature_lead_by_lead(filtered, unusable, half, block,
                                                              3, step),
            "row": lambda: qrs_feature._feature_row_by_row(filtered, unusable, half, block,
                                                           3, step)},
    }


def main() -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for n_leads, fs in LAYOUTS:
        for name, ways in kernels(chunk(n_leads, fs), fs).items():
            best = {}
            for way in ways.values():
                way()  # compile or load from the cache
            for _ in range(args.repeat):  # alternated, so drifts hit both
                for layout, call in ways.items():
                    started = time.perf_counter()
                    call()
                    best[layout] = min(best.get(layout, np.inf), time.perf_counter() - started)
            rows.append({"kernel": name, "leads": n_leads, "fs": fs,
                         "lead_by_lead_ms": round(1000 * best["lead"], 2),
                         "row_by_row_ms": round(1000 * best["row"], 2),
                         **({"row_buffered_ms": round(1000 * best["buffered"], 2)}
                            if "buffered" in best else {})})
            buffered = (f"  buffered {1000 * best['buffered']:7.2f} ms"
                        if "buffered" in best else "")
            print(f"{name:<14} {n_leads:>2} leads {fs:>6.0f} Hz  lead by lead "
                  f"{1000 * best['lead']:7.2f} ms  row by row {1000 * best['row']:7.2f} ms"
                  f"{buffered}", flush=True)
    write_result("bench_lead_layout", rows)
    return rows


if __name__ == "__main__":
    main()
