"""``python -m ecgtk.benchmarks.patient_curve``: patients counted from a run's folds, replicates
averaged, and each fit finds where a curve of known shape reaches the target."""

import json

import numpy as np
import pytest

from ecgtk.benchmarks.patient_curve import curve, main, patients_for, patients_seen


def test_each_fit_recovers_a_curve_of_its_own_shape():
    n = np.array([5.0, 10.0, 20.0])
    line = 80 + 5 * np.log2(n / 5)  # 95 at 5 * 2**3 = 40
    fits = patients_for(95, n, line)
    assert fits["line"]["patients"] == pytest.approx(40)
    assert fits["line"]["points_per_doubling"] == pytest.approx(5)
    assert fits["last_step"]["patients"] == pytest.approx(40)
    power = 100 - 40 * n ** -0.5  # error 5 at n = 64
    assert patients_for(95, n, power)["power"]["patients"] == pytest.approx(64)
    assert patients_for(95, n, power)["power"]["exponent"] == pytest.approx(-0.5)


def test_a_curve_that_does_not_rise_never_reaches_the_target():
    fits = patients_for(95, [5, 10, 20], [90, 88, 85])
    assert all(np.isinf(f["patients"]) for f in fits.values())
    with pytest.raises(ValueError, match="two different"):
        patients_for(95, [10, 10], [80, 90])
    with pytest.raises(ValueError, match="one figure each"):
        patients_for(95, [5, 10, 10], [70, 80, 90])


def test_replicates_of_one_count_are_averaged():
    figures = lambda h: {"honest": h, "ds1_alone_honest": h + 1, "shipped_rules": h + 2}  # noqa: E731
    summary = curve([(10.0, figures(80)), (10.0, figures(84)), (20.0, figures(90))])
    first, second = summary["sizes"]
    assert first["patients"] == 10 and first["replicates"] == 2
    assert first["honest"] == 82 and first["ds1_alone_honest"] == 83
    assert first["honest_each"] == [80, 84] and second["replicates"] == 1
    assert summary["fits"]["honest"]["line"]["points_per_doubling"] == pytest.approx(8)
    assert curve([(10.0, figures(80))])["fits"] == {}  # one count: nothing to fit


def _run(root, folds):
    for i, (train, val) in enumerate(folds):
        (root / f"fold{i}").mkdir(parents=True)
        (root / f"fold{i}" / "fold.json").write_text(json.dumps(
            {"train_records": train, "val_records": val}))
    return root


def test_patients_seen_counts_training_and_validation_patients(tmp_path):
    run = _run(tmp_path / "run", [(["101", "118", "118e06"], ["203"]),  # 118e06 is patient 118
                                  (["101", "106", "108", "109"], ["203"])])
    assert patients_seen(run) == 4.0  # (3 + 5) / 2
    with pytest.raises(FileNotFoundError, match="fold"):
        patients_seen(tmp_path / "empty")


def test_command_line_writes_the_summary(tmp_path, capsys):
    def ve(h):
        seeds = {"chosen_on_other_folds": [h, h], "default": [h + 1, h + 1]}
        return {"ds1_paced": {"veb_f1_per_template_seed": seeds},
                "ds1_alone": {"veb_f1_per_template_seed": seeds}}

    small = _run(tmp_path / "small", [(["101"], ["203"])])
    big = _run(tmp_path / "big", [(["101", "106", "108"], ["203"])])
    for name, h in (("small", 80.0), ("big", 90.0)):
        (tmp_path / f"{name}.json").write_text(json.dumps(ve(h)))
    out = tmp_path / "curve.json"
    main(["--point", str(small), str(tmp_path / "small.json"),
          "--point", str(big), str(tmp_path / "big.json"), "--json", str(out)])
    summary = json.loads(out.read_text())
    assert [s["patients"] for s in summary["sizes"]] == [2, 4]
    assert summary["fits"]["honest"]["line"]["patients"] == pytest.approx(4 * 2 ** 0.5)
    assert "honest: 95 % at about" in capsys.readouterr().out
