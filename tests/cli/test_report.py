"""``ecgtk report``: the summary rows, the choice of strips, and the pages it writes."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ecgtk.cli import app
from ecgtk.engines.archive import output_name, sample_archive
from ecgtk.reports.strips import choose_strips, read_strip_signals
from ecgtk.reports.summary import MISSING, NOT_AVAILABLE, clock, summary_rows

runner = CliRunner()


def _value(rows, section: str, label: str) -> str:
    found = [r.value for r in rows if r.section == section and r.label == label]
    assert len(found) == 1, (section, label)
    return found[0]


# ------------------------------------------------------------------ summary rows
def test_summary_rows_carry_the_records_numbers(sample_tables):
    record = [r for r in sample_tables["records"].to_pylist() if r["record_id"] == "106"][0]
    events = sample_tables["events"]
    events = events.filter(pc.equal(events["record_id"], "106")).to_pydict()
    rows = summary_rows(record, events)
    assert _value(rows, "Recording", "duration (hh:mm:ss)") == "00:05:00"
    assert _value(rows, "Recording", "analysable time") == "00:05:00 (100 %)"
    assert _value(rows, "Recording", "beats (N + S + V)") == str(record["n_beats"]) == "331"
    assert _value(rows, "Heart rate", "minimum (1-min)") == "57 beats/min"
    assert _value(rows, "Heart rate", "mean") == "66 beats/min"
    assert _value(rows, "Heart rate", "maximum (1-min)") == "73 beats/min"
    assert _value(rows, "Ventricular", "V beats") == "60"
    assert _value(rows, "Ventricular", "isolated") == "17"
    assert _value(rows, "Ventricular", "couplets") == "20"
    assert _value(rows, "Ventricular", "runs (>= 3 beats)") == "1"
    assert _value(rows, "Ventricular", "of which VT (>= 100/min)") == "1"
    assert _value(rows, "Ventricular", "longest run") == "3 beats"
    assert _value(rows, "Ventricular", "fastest run") == "128 beats/min"
    assert _value(rows, "Ventricular", "bigeminy / trigeminy episodes") == "2 / 0"
    assert _value(rows, "Pauses", "pauses (RR > 2.0 s)") == "0"
    assert _value(rows, "Pauses", "longest RR") == "1.48 s"
    assert _value(rows, "Atrial fibrillation", "episodes") == "0"
    assert _value(rows, "Atrial fibrillation", "burden") == "0.0 %"
    assert _value(rows, "Atrial fibrillation", "longest episode") == MISSING
    assert _value(rows, "HRV", "SDNN") == f"{record['sdnn_ms']:.0f} ms"
    assert _value(rows, "HRV", "RMSSD") == f"{record['rmssd_ms']:.0f} ms"
    if "n_supraventricular" not in record:  # an output written before the S columns
        assert _value(rows, "Supraventricular", "S beats") == NOT_AVAILABLE


def test_summary_reads_the_s_columns_af_and_nan():
    record = {"duration_s": 7200.0, "artefact_share": 0.25, "n_supraventricular": 412,
              "n_sv_couplets": 9, "n_sv_runs": 3, "longest_sv_run_beats": 7,
              "n_af_episodes": 1, "af_burden": 0.125, "hr_min_bpm": math.nan, "sdnn_ms": None}
    events = {"kind": ["af", "pause"], "start_s": [100.0, 500.0], "end_s": [775.0, 503.0],
              "rate_bpm": [110.0, None]}
    rows = summary_rows(record, events)
    assert _value(rows, "Recording", "analysable time") == "01:30:00 (75 %)"
    assert _value(rows, "Supraventricular", "S beats") == "412"
    assert _value(rows, "Supraventricular", "couplets") == "9"
    assert _value(rows, "Supraventricular", "runs") == "3"
    assert _value(rows, "Supraventricular", "longest run") == "7 beats"
    assert _value(rows, "Atrial fibrillation", "burden") == "12.5 %"
    assert _value(rows, "Atrial fibrillation", "longest episode") == "00:11:15"
    assert _value(rows, "Heart rate", "minimum (1-min)") == MISSING
    assert _value(rows, "HRV", "SDNN") == MISSING
    assert _value(rows, "Ventricular", "V beats") == NOT_AVAILABLE


def test_summary_of_an_empty_row_does_not_crash():
    rows = summary_rows({}, None)
    assert rows and all(r.value in (MISSING, NOT_AVAILABLE, f"{NOT_AVAILABLE} / {NOT_AVAILABLE}")
                        or r.value.startswith(MISSING) for r in rows)
    assert clock(3725.4) == "01:02:05" and clock(None) == MISSING


# ------------------------------------------------------------------ choice of strips
def _beats(times, labels=None) -> dict:
    times = np.asarray(times, dtype=float)
    return {"time_s": times, "label": labels if labels is not None else ["N"] * len(times)}


def _events(*rows) -> dict:
    names = ("kind", "start_s", "end_s", "n_beats", "rate_bpm")
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _by_name(strips) -> dict:
    return {s.name: s for s in strips}


@pytest.fixture
def hand_made():
    """600 s at 1 s RR, with 0.5 s RR from 100 to 130 s and 1.6 s RR from 300 to 340 s."""
    times = list(np.arange(0, 100, 1.0)) + list(np.arange(100, 130, 0.5)) + \
        list(np.arange(130, 300, 1.0)) + list(np.arange(300, 340, 1.6)) + \
        list(np.arange(340.2, 600, 1.0))
    events = _events(("v_run", 50.0, 51.0, 3, 120.0), ("vt", 200.0, 202.0, 5, 120.0),
                     ("v_run", 250.0, 252.4, 4, 75.0), ("pause", 400.0, 402.5, 2, None),
                     ("pause", 450.0, 453.1, 2, None), ("af", 500.0, 580.0, 90, 95.0),
                     ("af", 590.0, 595.0, 8, 90.0))
    return events, _beats(times), {"fs": 250.0, "duration_s": 600.0}


def test_strips_pick_the_longest_run_pause_and_rate_extremes(hand_made):
    events, beats, record = hand_made
    strips = choose_strips(events, beats, record, length_s=10.0)
    assert [s.name for s in strips] == ["longest_v_run", "fastest_rate", "slowest_rate",
                                        "longest_pause", "af_onset", "longest_sv_run"]
    found = _by_name(strips)
    run = found["longest_v_run"]
    assert run.found and run.event_start_s == 200.0 and "5 beats" in run.title
    assert "VT" in run.title
    assert run.start_s == pytest.approx(196.0) and run.stop_s == pytest.approx(206.0)
    pause = found["longest_pause"]
    assert pause.event_start_s == 450.0 and "3.10 s" in pause.title
    assert pause.start_s <= 450.0 and pause.stop_s >= 453.1
    fast, slow = found["fastest_rate"], found["slowest_rate"]
    assert 100.0 <= fast.at_s and fast.stop_s <= 131.0 and "120 beats/min" in fast.title
    assert 299.0 <= slow.at_s <= 340.0 and slow.title.endswith(("37 beats/min over 10 s",
                                                                "38 beats/min over 10 s"))
    onset = found["af_onset"]
    assert onset.event_start_s == 500.0  # the longest episode, not the last
    assert (onset.start_s + onset.stop_s) / 2 == pytest.approx(500.0)
    sv = found["longest_sv_run"]
    assert not sv.found and "not available" in sv.note
    assert all(s.stop_s - s.start_s == pytest.approx(10.0) for s in strips if s.found)


def test_strips_of_an_sv_run_and_absent_events():
    events = _events(("sv_run", 30.0, 33.0, 6, 130.0), ("sv_run", 60.0, 61.0, 3, 140.0))
    beats = _beats(np.arange(0, 100, 0.8))
    found = _by_name(choose_strips(events, beats, {"fs": 360.0, "duration_s": 100.0,
                                                   "n_sv_runs": 2}))
    assert found["longest_sv_run"].found and found["longest_sv_run"].event_start_s == 30.0
    for name in ("longest_v_run", "longest_pause", "af_onset"):
        assert not found[name].found and found[name].note, name


def test_longest_v_sequence_without_run_events_and_window_at_the_edges():
    times = np.arange(0, 60, 1.0)
    labels = ["N"] * 60
    labels[1] = labels[2] = "V"  # a couplet at 1-2 s, near the start
    labels[40] = "V"
    beats = _beats(times, labels)
    record = {"fs": 360.0, "duration_s": 60.0}
    found = _by_name(choose_strips(_events(("pause", 55.0, 59.5, 2, None)), beats, record))
    run = found["longest_v_run"]
    assert run.found and "couplet" in run.title and run.event_start_s == 1.0
    assert run.start_s == 0.0 and run.stop_s == 10.0
    pause = found["longest_pause"]
    assert pause.stop_s == 60.0 and pause.start_s == 50.0


def test_artefacts_end_a_v_sequence_and_nothing_at_all_does_not_crash():
    beats = _beats([1.0, 2.0, 2.5, 3.0], ["V", "V", "artefact", "V"])
    found = _by_name(choose_strips({}, beats, {"fs": 360.0, "duration_s": 5.0}))
    assert "couplet" in found["longest_v_run"].title
    empty = choose_strips(None, {}, {})
    assert len(empty) == 6 and not any(s.found for s in empty)


# ------------------------------------------------------------------ pages of the sample
@pytest.fixture(scope="module")
def sample_out(tmp_path_factory, sample_tables):
    """An 'ecgtk run' output folder of the shipped sample, from the stored tables of
    tests/data/sample_tables (one file per recording per table), each records row's ``path``
    naming the shipped recording, as ``ecgtk run`` writes it."""
    out = tmp_path_factory.mktemp("report_run")
    ids = sample_tables["records"]["record_id"].to_pylist()
    for name, table in sample_tables.items():
        (out / name).mkdir()
        for record_id in ids:
            part = table.filter(pc.equal(table["record_id"], record_id))
            if name == "records":
                path = str(sample_archive() / f"{record_id}.hea")
                part = part.append_column("path", pa.array([path], type=pa.string()))
            pq.write_table(part, out / name / output_name(record_id))
    return out


def _assert_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000, path


def _assert_pdf(path):
    data = path.read_bytes()
    assert data[:5] == b"%PDF-" and b"%%EOF" in data[-64:] and len(data) > 20_000, path


def test_report_writes_a_png_page_per_recording(sample_out, tmp_path):
    result = runner.invoke(app, ["report", str(sample_out), "--out", str(tmp_path / "pages"),
                                 "--record", "106"])
    assert result.exit_code == 0, result.output
    pages = list((tmp_path / "pages").iterdir())
    assert len(pages) == 1 and pages[0].suffix == ".png"
    _assert_png(pages[0])


def test_report_writes_a_pdf_by_suffix_or_option(sample_out, tmp_path):
    result = runner.invoke(app, ["report", str(sample_out), "--out", str(tmp_path / "208.pdf"),
                                 "--record", "208", "--strip-s", "6"])
    assert result.exit_code == 0, result.output
    _assert_pdf(tmp_path / "208.pdf")
    result = runner.invoke(app, ["report", str(sample_out), "--out", str(tmp_path / "pdfs"),
                                 "--record", "119", "--format", "pdf"])
    assert result.exit_code == 0, result.output
    pages = list((tmp_path / "pdfs").iterdir())
    assert len(pages) == 1 and pages[0].suffix == ".pdf"
    _assert_pdf(pages[0])


def test_one_file_for_many_recordings_is_a_usage_error(sample_out, tmp_path):
    result = runner.invoke(app, ["report", str(sample_out), "--out", str(tmp_path / "all.png")])
    assert result.exit_code == 1
    assert not (tmp_path / "all.png").exists()


def test_a_missing_source_still_yields_a_page(sample_out, tmp_path):
    out = tmp_path / "moved"
    shutil.copytree(sample_out, out)
    for file in (out / "records").glob("*.parquet"):
        table = pq.read_table(file)
        if table["record_id"][0].as_py() != "106":
            file.unlink()
            continue
        gone = str(tmp_path / "gone" / "106.hea")
        table = table.set_column(table.schema.get_field_index("path"), "path",
                                 pa.array([gone], type=pa.string()))
        pq.write_table(table, file)
    record = pq.read_table(next((out / "records").glob("*.parquet"))).to_pylist()[0]
    strips = choose_strips({}, {}, record)
    signals = read_strip_signals(record, [s for s in strips if s.found] or strips)
    assert signals.error is not None and "gone" in signals.error and not signals.signals
    result = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "pages")])
    assert result.exit_code == 0, result.output
    pages = list((tmp_path / "pages").iterdir())
    assert len(pages) == 1
    _assert_png(pages[0])


def test_report_help_explains_the_page():
    text = runner.invoke(app, ["report", "--help"], terminal_width=200).output
    for word in ("--format", "pdf", "summary", "strip", "not available", "seconds"):
        assert word in text, word


def test_strip_times_give_the_time_of_day_when_the_start_is_known():
    from datetime import datetime

    from ecgtk.reports.strips import format_time

    assert format_time(3725.0) == "01:02:05 from start"
    assert format_time(3725.0, datetime(2026, 12, 6, 23, 30)) == "00:32:05 (01:02:05 from start)"
