"""Rewrite tests/data/sample_tables/*.parquet: ``ecgtk run``'s tables of the shipped sample with
the current code and models (the volatile columns left out, as tests/pipeline/
test_sample_tables.py compares them). Run from the repository root:
``python tools/sample_tables.py``; only when a change of values is meant (new models, columns).
"""
import tempfile
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq

import ecgtk

VOLATILE = {"records": ["path", "seconds", "source_mtime_ns"]}
with tempfile.TemporaryDirectory() as tmp:
    results = ecgtk.run_archive(out=tmp, workers=1)
    assert [r.status for r in results] == ["ok"] * 3, results
    for name in ("beats", "clusters", "events", "records"):
        table = ds.dataset(Path(tmp) / name).to_table().sort_by("record_id")
        table = table.drop_columns(VOLATILE.get(name, [])).replace_schema_metadata(None)
        pq.write_table(table, f"tests/data/sample_tables/{name}.parquet")
        print(name, table.num_rows)
