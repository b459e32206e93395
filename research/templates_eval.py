"""How many templates per record, and how pure, for each merge threshold (DS1 + paced).

    python -m research.templates_eval --data ../shared/data [--json out.json]

Each record runs through the pipeline up to the templates (detector, both models, validation);
then its beats are clustered with every setting of a small grid. Purity: the share of beats
whose reference AAMI class (N, S, V, F, Q of the annotation they match) is their template's
majority class. The default merge threshold is the one that keeps the median number of
templates per record at most 10 with the highest purity.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ecgtk.inference.models import BeatModels, ModelSettings
from ecgtk.labelling.classify import decide_labels
from ecgtk.labelling.templates import cluster_beats
from ecgtk.pipeline import call_recording
from ecgtk.readers import read_recording
from ecgtk.scoring import load_reference, match_beats
from ecgtk.scoring.matching import tolerance_samples
from research.bench_detector_accuracy import DS1, PACED

MERGE = [0.9, 0.93, 0.95, 0.97, 0.99]
N_START = [12, 20]


def record_beats(path: Path, models: BeatModels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples, labels and coarse morphology of one record's beats (artefacts dropped)."""
    samples, calls = call_recording(read_recording(path), models)
    labels = decide_labels(samples, calls, models.info["ventricular"].threshold).labels
    keep = labels != "artefact"
    return samples[keep], labels[keep], calls.morphology[keep]


def purity(assignment: np.ndarray, classes: np.ndarray) -> float:
    """Share of beats whose class is their cluster's majority class (unmatched beats: 'O')."""
    agree = 0
    for c in np.unique(assignment):
        _, counts = np.unique(classes[assignment == c], return_counts=True)
        agree += counts.max()
    return agree / len(classes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    models = BeatModels(ModelSettings())
    per_setting = {(m, k): {"n_templates": [], "purity": []} for m in MERGE for k in N_START}
    for record in list(DS1) + list(PACED):
        base = args.data / "mitdb" / record
        samples, labels, morphology = record_beats(base.with_suffix(".hea"), models)
        reference = load_reference(base)
        ri, ti = match_beats(reference.samples, samples, tolerance_samples(0.15 * reference.fs))
        classes = np.full(len(samples), "O", dtype=object)
        classes[ti] = reference.classes[ri]
        for (merge, n_start), found in per_setting.items():
            templates = cluster_beats(morphology, labels, n_start, merge)
            found["n_templates"].append(len(templates.n_beats))
            found["purity"].append(purity(templates.assignment, classes))
    result = {f"merge {m} start {k}": {
        "median_templates": float(np.median(v["n_templates"])),
        "max_templates": int(np.max(v["n_templates"])),
        "median_purity_pct": round(100 * float(np.median(v["purity"])), 2),
        "min_purity_pct": round(100 * float(np.min(v["purity"])), 2)}
        for (m, k), v in per_setting.items()}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
