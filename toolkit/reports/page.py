"""``ecgtk report``: one PNG page per recording from an ``ecgtk run`` output folder.

The page shows the heart-rate trend (per minute, with the hourly means) and ventricular beats
per hour, the template grid (each cluster's mean beat with its size and label), and a few
ventricular beats coloured by their Grad-CAM heatmaps. Needs matplotlib (the ``plot`` extra);
the Grad-CAM panel needs the source recording where the ``records`` row says it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.dataset as ds

from ecgtk.engines.archive import output_name
from ecgtk.inference.models import COARSEN_STEP, BeatModels
from ecgtk.readers import read_recording
from ecgtk.reports.explain import choose_beats, windows_for

#: Templates and explained ventricular beats drawn per page.
MAX_TEMPLATES = 12
MAX_EXPLAINED = 4


def load_run(out_dir: Path, record_id: str | None = None) -> dict[str, dict]:
    """Per record id: its ``records`` row, ``beats`` and ``clusters`` columns (ok records)."""
    records = ds.dataset(out_dir / "records", format="parquet").to_table().to_pylist()
    records = [r for r in records if r["status"] == "ok"
               and (record_id is None or r["record_id"] == record_id)]
    found = {}
    for row in records:
        name = output_name(row["record_id"])
        found[row["record_id"]] = {
            "record": row,
            "beats": ds.dataset(out_dir / "beats" / name).to_table().to_pydict(),
            "clusters": ds.dataset(out_dir / "clusters" / name).to_table().to_pydict(),
        }
    return found


def minute_heart_rate(samples: np.ndarray, labels: np.ndarray, fs: float,
                      duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(minute start in hours, beats/min) from RR intervals of consecutive non-artefact beats."""
    t = samples[labels != "artefact"] / fs
    n_minutes = max(1, int(np.ceil(duration_s / 60)))
    rate = np.full(n_minutes, np.nan)
    if len(t) > 1:
        rr = np.diff(t)
        minute = (t[1:] // 60).astype(int).clip(0, n_minutes - 1)
        ok = (rr > 0.2) & (rr < 3.0)
        sums = np.bincount(minute[ok], weights=rr[ok], minlength=n_minutes)
        counts = np.bincount(minute[ok], minlength=n_minutes)
        has = counts >= 10
        rate[has] = 60.0 * counts[has] / sums[has]
    return np.arange(n_minutes) / 60.0, rate


def draw_page(run: dict, models: BeatModels | None, heatmapper, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    record, beats, clusters = run["record"], run["beats"], run["clusters"]
    fs = record["fs"]
    samples = np.asarray(beats["sample"], dtype=np.int64)
    labels = np.asarray(beats["label"], dtype=object)
    fig = plt.figure(figsize=(12, 11))
    grid = fig.add_gridspec(4, 6, height_ratios=[1.2, 1, 1, 1.1])
    _trend(fig.add_subplot(grid[0, :]), record, samples, labels, fs)
    _templates(fig, grid, clusters)
    _explained(fig, grid, record, samples, labels, beats, models, heatmapper)
    fig.suptitle(f"{record['record_id']}: {record['n_beats']} beats, {record['n_ventricular']} "
                 f"V, {record['duration_s'] / 3600:.1f} h", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _trend(axis, record, samples, labels, fs) -> None:
    hours, rate = minute_heart_rate(samples, labels, fs, record["duration_s"])
    axis.plot(hours, rate, color="tab:blue", linewidth=0.8, label="per minute")
    hourly = np.asarray(record.get("hr_hourly_bpm") or [], dtype=float)
    if len(hourly):
        axis.step(np.arange(len(hourly) + 1), np.append(hourly, hourly[-1]), where="post",
                  color="navy", linewidth=2, label="hourly mean")
    axis.set_xlabel("hours from start")
    axis.set_ylabel("heart rate (beats/min)")
    hours_long = record["duration_s"] / 3600
    bin_h, unit = (1.0, "hour") if hours_long >= 2 else (1 / 60, "minute")
    n_bins = max(1, int(np.ceil(hours_long / bin_h)))
    v_bins = (samples[labels == "V"] / fs / 3600 / bin_h).astype(int).clip(0, n_bins - 1)
    bars = axis.twinx()
    bars.bar((np.arange(n_bins) + 0.5) * bin_h, np.bincount(v_bins, minlength=n_bins),
             width=0.9 * bin_h, alpha=0.25, color="tab:red")
    bars.set_ylabel(f"V beats per {unit}", color="tab:red")
    axis.set_xlim(0, n_bins * bin_h)
    axis.legend(loc="upper left", fontsize=8)


def _templates(fig, grid, clusters) -> None:
    n = min(len(clusters["cluster"]), MAX_TEMPLATES)
    for k in range(n):
        axis = fig.add_subplot(grid[1 + k // 6, k % 6])
        template = np.asarray(clusters["template"][k])
        length = len(template) // max(1, len(template) // 60)
        axis.plot(np.arange(length) * COARSEN_STEP, template[:length],
                  color="tab:red" if clusters["label"][k] == "V" else "black")
        axis.set_title(f"#{k} {clusters['label'][k]} n={clusters['n_beats'][k]}", fontsize=8)
        axis.set_xticks([])
        axis.set_yticks([])


def _explained(fig, grid, record, samples, labels, beats, models, heatmapper) -> None:
    rows = choose_beats(labels, "V", MAX_EXPLAINED)
    if models is None or heatmapper is None or not len(rows):
        axis = fig.add_subplot(grid[3, :])
        axis.axis("off")
        axis.text(0.5, 0.5, "no ventricular beats to explain" if not len(rows) else
                  "Grad-CAM unavailable (recording or models missing)", ha="center")
        return
    recording = read_recording(Path(record["path"]), record_id=record["record_id"])
    windows = windows_for(recording, models, samples[rows], samples)
    heat = heatmapper(windows)
    width = 6 // MAX_EXPLAINED if MAX_EXPLAINED <= 6 else 1
    for i in range(len(rows)):
        axis = fig.add_subplot(grid[3, i * width:(i + 1) * width])
        t = np.arange(windows.shape[1])
        axis.scatter(t, windows[i, :, 0], c=heat[i], cmap="inferno_r", s=4, vmin=0, vmax=1)
        axis.set_title(f"V at {samples[rows[i]] / record['fs']:.0f} s "
                       f"(p_V {beats['p_ventricular'][rows[i]]:.2f})", fontsize=8)
        axis.set_xticks([])
