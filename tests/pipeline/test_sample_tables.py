"""The four tables of the shipped sample, as the release before the layout change wrote them.

``tests/data/sample_tables/*.parquet`` are ``ecgtk run``'s tables of the sample archive made
with ecgtk 0.2.5 before its modules moved (the columns that change from run to run left out:
``path``, ``seconds``, ``source_mtime_ns``), rewritten by ``python tools/sample_tables.py``
when issue 36 added the S label and its columns, and when 0.6.0's own K-means regrouped the
templates (their numbers and count moved; no label did). Moving code must not move a value.
Probabilities are compared to 1e-6 (another CPU's ONNX Runtime kernels may round the last bit
differently); everything else exactly.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import ecgtk

VOLATILE = {"records": ["path", "seconds", "source_mtime_ns"]}


def _assert_same(table: pa.Table, expected: pa.Table, name: str) -> None:
    assert table.schema.names == expected.schema.names, name
    assert table.num_rows == expected.num_rows, name
    for column in expected.schema.names:
        got, want = table[column], expected[column]
        assert got.type == want.type, (name, column)
        if pa.types.is_floating(want.type):
            assert got.is_null().equals(want.is_null()), (name, column)
            diff = pa.compute.max(pa.compute.abs(pa.compute.subtract(got, want))).as_py()
            assert diff is None or diff <= 1e-6, (name, column, diff)
        elif pa.types.is_list(want.type) and pa.types.is_floating(want.type.value_type):
            for a, b in zip(got.to_pylist(), want.to_pylist(), strict=True):
                assert a == pytest.approx(b, abs=1e-6), (name, column)
        else:
            assert got.equals(want), (name, column)


@pytest.fixture(scope="module")
def run_tables(tmp_path_factory) -> dict[str, pa.Table]:
    out = tmp_path_factory.mktemp("sample_run")
    results = ecgtk.run_archive(out=out, workers=1)
    assert [r.status for r in results] == ["ok"] * 3
    return {name: ds.dataset(out / name).to_table().sort_by("record_id")
            for name in ("beats", "clusters", "events", "records")}


@pytest.mark.parametrize("name", ["beats", "clusters", "events", "records"])
def test_tables_are_the_release_s(run_tables, sample_tables, name):
    drop = VOLATILE.get(name, [])
    table = run_tables[name].drop_columns(drop).replace_schema_metadata(None)
    expected = sample_tables[name].drop_columns([c for c in drop
                                                 if c in sample_tables[name].schema.names])
    _assert_same(table, expected, name)
