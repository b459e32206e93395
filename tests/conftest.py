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
