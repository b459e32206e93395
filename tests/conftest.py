"""Shared fixtures: the real MIT-BIH excerpts in tests/data (see tests/data/README.md)."""

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
BEAT_SYMBOLS = set("NLRejAaJSVEF/fQ")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def mitdb_excerpt():
    """``load(record) -> (signal float32 (n, 2) mV, fs, reference beat samples)``."""
    import wfdb

    cache = {}

    def load(record: str):
        if record not in cache:
            path = str(DATA / "mitdb" / record)
            rec = wfdb.rdrecord(path)
            ann = wfdb.rdann(path, "atr")
            is_beat = np.isin(ann.symbol, list(BEAT_SYMBOLS))
            cache[record] = (rec.p_signal.astype(np.float32), float(rec.fs),
                             ann.sample[is_beat])
        return cache[record]

    return load


def _fake_fold(root: Path, fold: str, record: str) -> None:
    """A cross-validation fold holding ``record`` with its reference beats as candidates, every
    one a beat, and model 2 sure of every beat's class (0.95 for V, 0.05 for the others)."""
    import json

    import wfdb

    ann = wfdb.rdann(str(DATA / "mitdb" / record), "atr")
    keep = np.isin(ann.symbol, list("NLRejAaJSVEFQ/f"))
    samples, symbols = ann.sample[keep], np.asarray(ann.symbol)[keep]
    out = root / fold
    out.mkdir(parents=True)
    np.savez(out / f"probs_{record}.npz", candidates=samples.astype(np.int64),
             p_beat=np.full(len(samples), 0.9, np.float32),
             p_ventricular=np.where(np.isin(symbols, ["V", "E"]), 0.95, 0.05).astype(np.float32))
    (out / "fold.json").write_text(json.dumps({"thresholds": {"beat": 0.5, "ventricular": 0.5}}))


@pytest.fixture(scope="session")
def fake_cv_run(tmp_path_factory) -> Path:
    """A finished cross-validation run of two folds (119 in fold0, 208 in fold1) whose model 2
    is sure and right on every beat: for the benchmarks that read a run's out-of-fold calls."""
    root = tmp_path_factory.mktemp("cv")
    _fake_fold(root, "fold0", "119")
    _fake_fold(root, "fold1", "208")
    return root


# ------------------------------------------------------------------ markers by layer
#: Test folders whose every test gets a marker (``pytest -m "not training"`` on a plain install).
FOLDER_MARKERS = {"training": ("training",), "research": ("research", "training")}


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = Path(item.fspath).parent.name
        for name in FOLDER_MARKERS.get(folder, ()):
            item.add_marker(getattr(pytest.mark, name))
        if "ray" in item.fspath.basename and "no_ray" not in item.fspath.basename:
            item.add_marker(pytest.mark.ray)


@pytest.fixture(scope="session")
def sample_tables() -> dict:
    """The four tables of ``ecgtk run`` on the shipped sample, as 0.2.5 wrote them (sorted by
    record; see tests/pipeline/test_sample_tables.py)."""
    import pyarrow.parquet as pq

    return {name: pq.read_table(DATA / "sample_tables" / f"{name}.parquet")
            for name in ("beats", "clusters", "events", "records")}
