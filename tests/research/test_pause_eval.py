"""``python -m research.pause_eval``: the pause rules scored on out-of-fold calls."""

import numpy as np


def test_pause_eval_scores_the_rule_on_out_of_fold_calls(tmp_path, data_dir, mitdb_excerpt):
    """The benchmark on a fake cross-validation fold: the reference beats of 101 as candidates,
    three of them rejected by "model 1"; the shipped rule gives them back."""
    import json

    from research.pause_eval import compare
    from research.validation_eval import load_folds

    _, _, beats = mitdb_excerpt("101")
    fold = tmp_path / "fold0"
    fold.mkdir()
    p_beat = np.full(len(beats), 0.9, np.float32)
    p_beat[[20, 60, 100]] = 0.01
    np.savez(fold / "probs_101.npz", candidates=beats.astype(np.int64), p_beat=p_beat,
             p_ventricular=np.full(len(beats), 0.01, np.float32))
    (fold / "fold.json").write_text(json.dumps(
        {"thresholds": {"beat": 0.05, "ventricular": 0.5}}))
    features, thresholds = load_folds(tmp_path, [data_dir / "mitdb"])
    report = compare(features, thresholds)
    off, on = report["ds1_paced"]["off"], report["ds1_paced"]["shipped"]
    assert off["beats"]["FN"] == 3 and off["rescued"] == 0
    assert on["beats"]["FN"] == 0 and on["rescued"] == 3
    assert on["beats"]["FP"] == off["beats"]["FP"] == 0
    # no V beat called: each reference V beat of the excerpt is a missed one, none is false
    n_v = on["veb"]["FN"]
    assert report["per_record_shipped"] == {"101": {"FN": n_v, "FP": 0}}


def test_pause_eval_main_reports_a_run_without_nstdb_records(tmp_path, data_dir, mitdb_excerpt,
                                                             capsys):
    """A run of one fold holding no nstdb record (e.g. a one-fold experiment) still prints its
    DS1 + paced lines and writes the report."""
    import json

    from research.pause_eval import main

    _, _, beats = mitdb_excerpt("101")
    fold = tmp_path / "cv" / "fold0"
    fold.mkdir(parents=True)
    np.savez(fold / "probs_101.npz", candidates=beats.astype(np.int64),
             p_beat=np.full(len(beats), 0.9, np.float32),
             p_ventricular=np.full(len(beats), 0.01, np.float32))
    (fold / "fold.json").write_text(json.dumps(
        {"thresholds": {"beat": 0.05, "ventricular": 0.5}}))
    main(["--cv-dir", str(tmp_path / "cv"), "--data", str(data_dir),
          "--json", str(tmp_path / "report.json")])
    out = capsys.readouterr().out
    assert "ds1_paced shipped: VEB F1" in out and "V errors per record" in out
    assert "nstdb" not in out.split("}\n")[-1]
    assert "ds1_paced" in json.loads((tmp_path / "report.json").read_text())["template_seeds"]["0"]
