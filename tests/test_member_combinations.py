"""Assembling model-2 ensembles out of already trained members (benchmarks.member_combinations)."""

import json
from pathlib import Path

import pytest

from ecgtk.benchmarks import member_combinations as mc

FOLDS = ("fold0", "fold1")


def write_member(folder: Path, seed: int) -> None:
    folder.mkdir(parents=True)
    (folder / "ventricular.keras").write_bytes(b"model")
    (folder / "ventricular.train.json").write_text(json.dumps({"seed": seed}))


def make_run(root: Path, name: str, seeds: list[int]) -> tuple[Path, Path]:
    """An ensemble run and its refit with members of ``seeds``, as ensemble_cv and refit
    leave them (only what the assembly reads)."""
    run, refit = root / name, root / f"{name}_refit"
    for fold in FOLDS:
        (run / fold).mkdir(parents=True)
        (run / fold / "fold.json").write_text(json.dumps({"ensemble": {"seeds": seeds}}))
        for i, seed in enumerate(seeds):
            write_member(run / fold / f"seed{seed}", seed)
            write_member(refit / fold / f"member{i}", seed)
    return run, refit


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    a, b = make_run(tmp_path, "cv_a", [0, 1]), make_run(tmp_path, "cv_b", [2, 3])
    return [a[0], b[0]], [a[1], b[1]]


def test_members_are_found_by_seed_with_their_place_in_the_refit(two_runs):
    runs, refits = two_runs
    members = mc.all_members(runs, refits)
    assert sorted(members) == [0, 1, 2, 3]
    assert members[3].run == runs[1] and members[3].index == 1
    assert members[0].refit == refits[0] and members[0].index == 0


def test_a_seed_in_two_runs_is_refused(tmp_path):
    a, b = make_run(tmp_path, "cv_a", [0, 1]), make_run(tmp_path, "cv_b", [1, 2])
    with pytest.raises(ValueError, match="seed 1"):
        mc.all_members([a[0], b[0]], [a[1], b[1]])


def test_links_point_each_combination_member_at_its_own_training(two_runs, tmp_path):
    members = mc.all_members(*two_runs)
    ensemble, refit = tmp_path / "out" / "seeds_1_2", tmp_path / "out" / "seeds_1_2_refit"
    mc.link_combination([members[1], members[2]], FOLDS, ensemble, refit)
    for fold in FOLDS:
        assert (ensemble / fold / "seed1").resolve() == (two_runs[0][0] / fold / "seed1").resolve()
        # the combination's member 1 is run b's refit member 0 (seed 2)
        assert (refit / fold / "member1").resolve() == (two_runs[1][1] / fold / "member0").resolve()
        facts = json.loads((refit / fold / "member1" / "ventricular.train.json").read_text())
        assert facts["seed"] == 2
    mc.link_combination([members[1], members[2]], FOLDS, ensemble, refit)  # again: no error


def test_a_refit_of_another_seed_is_refused(two_runs, tmp_path):
    runs, refits = two_runs
    (refits[1] / "fold1" / "member0" / "ventricular.train.json").write_text('{"seed": 7}')
    members = mc.all_members(runs, refits)
    with pytest.raises(ValueError, match="seed 2"):
        mc.link_combination([members[2]], FOLDS, tmp_path / "e", tmp_path / "r")


def test_a_missing_member_is_named(two_runs, tmp_path):
    runs, refits = two_runs
    (runs[0] / "fold1" / "seed0" / "ventricular.train.json").unlink()
    members = mc.all_members(runs, refits)
    with pytest.raises(FileNotFoundError, match="seed 0"):
        mc.link_combination([members[0]], FOLDS, tmp_path / "e", tmp_path / "r")


def test_summary_per_size_is_over_the_means_of_the_combinations():
    lines = [{"seeds": [0, 1], "shipped_rules": [94.0, 96.0], "honest": [93.0, 93.0]},
             {"seeds": [0, 2], "shipped_rules": [97.0, 97.0]},
             {"seeds": [0, 1, 2], "shipped_rules": [95.5]}]
    summary = mc.summarise(lines)
    assert summary["2 members, shipped_rules"] == {"mean": 96.0, "min": 95.0, "max": 97.0,
                                                   "combinations": 2}
    assert summary["2 members, honest"]["combinations"] == 1
    assert summary["3 members, shipped_rules"]["mean"] == 95.5


def test_sizes_beyond_the_members_found_are_a_usage_error(two_runs, tmp_path, capsys):
    runs, refits = two_runs
    with pytest.raises(SystemExit):
        mc.main(["--data", str(tmp_path), "--baseline", str(tmp_path), "--runs", *map(str, runs),
                 "--refits", *map(str, refits), "--sizes", "5", "--out", str(tmp_path / "o")])
    assert "--sizes" in capsys.readouterr().err


def test_an_unfinished_run_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        mc.main(["--data", str(tmp_path), "--baseline", str(tmp_path), "--runs",
                 str(tmp_path / "nothing"), "--out", str(tmp_path / "o")])
    assert "not a finished ensemble run" in capsys.readouterr().err
