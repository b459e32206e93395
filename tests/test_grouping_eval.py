"""The grouping benchmark on fake out-of-fold calls of two folds."""

import json

import numpy as np
import pytest

from ecgtk.benchmarks.grouping_eval import compare, main


def test_a_grouping_that_cannot_part_the_v_beats_is_never_chosen(fake_cv_run, data_dir):
    """One starting cluster puts every beat in one mostly normal template: no V call at all.
    Both folds choose twenty clusters on the other fold, so the honest line is twenty's."""
    from ecgtk.benchmarks.validation_eval import load_folds, search_dirs

    features, thresholds = load_folds(fake_cv_run, search_dirs([data_dir]))
    report = compare(features, thresholds, settings=((1,), (20, 20)), seeds=2)
    one, twenty = report["settings"]["(1,)"], report["settings"]["(20, 20)"]
    assert one["veb_f1_per_seed"] == [0.0, 0.0]
    assert twenty["veb_f1_mean"] > 80
    assert twenty["veb_f1_mean"] == pytest.approx(np.mean(twenty["veb_f1_per_seed"]), abs=0.01)
    assert report["chosen_per_fold"] == {"fold0": [20, 20], "fold1": [20, 20]}
    assert report["chosen_on_other_folds"]["veb_f1_mean"] == pytest.approx(
        twenty["veb_f1_mean"], abs=0.01)
    assert one["per_record"]["119"]["FP"] == 0 and one["per_record"]["119"]["FN"] > 0


def test_main_prints_every_setting_and_writes_the_report(fake_cv_run, data_dir, tmp_path, capsys):
    main(["--cv-dir", str(fake_cv_run), "--data", str(data_dir), "--template-seeds", "1",
          "--json", str(tmp_path / "report.json")])
    out = capsys.readouterr().out
    assert "(20, 20, 20)" in out and "chosen on the other folds" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["settings"]) == 6 and set(report["chosen_per_fold"]) == {"fold0", "fold1"}


def test_bench_templates_times_each_setting_on_the_same_calls(tmp_path, capsys):
    from ecgtk.benchmarks.bench_templates import main as bench

    bench(["--hours", "0.05", "--repeat", "2", "--settings", "20,20,20", "20,30",
           "--json", str(tmp_path / "bench.json")])
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["beats"] > 100
    assert {k: len(v) for k, v in report["seconds"].items()} == {"(20, 20, 20)": 2,
                                                                "(20, 30)": 2}
    assert report["ratio_to_first"]["(20, 20, 20)"] == 1.0
    assert "the first" in capsys.readouterr().out
