"""Cut the small real excerpts that ship with ecgtk from the MIT-BIH Arrhythmia Database.

    python tools/make_excerpts.py ../shared/data/mitdb

writes ``tests/data/mitdb/`` (2-minute excerpts used by the tests), ``tests/data/af/`` (a
3-minute excerpt with atrial fibrillation) and
``toolkit/sample_data/`` (5-minute excerpts: the sample archive of ``ecgtk run``). Signals are
copied sample for sample (format 212, same gains and baselines); beat and rhythm annotations are
shifted to the excerpt's start, and the rhythm in force there is annotated at its first sample.
Data: PhysioNet MIT-BIH Arrhythmia Database, ODC-By 1.0.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import wfdb

ROOT = Path(__file__).resolve().parents[1]
#: record -> (start second, seconds) for the tests, and for the shipped sample archive
TEST_EXCERPTS = {"101": (0, 120), "119": (300, 120), "208": (600, 120)}
#: an atrial fibrillation offset, for the AF tests (a folder of its own: the training tests
#: count the records of tests/data/mitdb)
AF_EXCERPTS = {"201": (250, 180)}
SAMPLE_EXCERPTS = {"106": (0, 300), "119": (300, 300), "208": (600, 300)}


def cut(source: Path, record: str, start_s: float, seconds: float, dest: Path) -> None:
    rec = wfdb.rdrecord(str(source / record), physical=False)
    ann = wfdb.rdann(str(source / record), "atr")
    start = int(start_s * rec.fs)
    stop = start + int(seconds * rec.fs)
    dest.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        record, fs=rec.fs, units=rec.units, sig_name=rec.sig_name,
        d_signal=rec.d_signal[start:stop], fmt=rec.fmt, adc_gain=rec.adc_gain,
        baseline=rec.baseline, write_dir=str(dest),
        comments=rec.comments + [f"excerpt of MIT-BIH record {record}: samples {start}-{stop}"],
    )
    keep = (ann.sample >= start) & (ann.sample < stop)
    samples = ann.sample[keep] - start
    symbols = list(np.array(ann.symbol)[keep])
    aux = [a for a, k in zip(ann.aux_note, keep, strict=True) if k]
    # the rhythm in force at the excerpt's start, as a rhythm annotation at its first sample
    before = [a for s, sym, a in zip(ann.sample, ann.symbol, ann.aux_note, strict=True)
              if s < start and sym == "+" and a]
    if before and not (samples.size and samples[0] == 0 and symbols[0] == "+"):
        samples, symbols, aux = np.r_[0, samples], ["+", *symbols], [before[-1], *aux]
    wfdb.wrann(record, "atr", samples, symbol=symbols,
               aux_note=aux, write_dir=str(dest), fs=rec.fs)


def main(source: str) -> None:
    for record, (start, seconds) in TEST_EXCERPTS.items():
        cut(Path(source), record, start, seconds, ROOT / "tests" / "data" / "mitdb")
    for record, (start, seconds) in AF_EXCERPTS.items():
        cut(Path(source), record, start, seconds, ROOT / "tests" / "data" / "af")
    for record, (start, seconds) in SAMPLE_EXCERPTS.items():
        cut(Path(source), record, start, seconds, ROOT / "toolkit" / "sample_data")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "data" / "mitdb"))
