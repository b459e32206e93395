"""The refit: a validated training's members trained again on every patient, for the epochs
at which the validated run was best, keeping its threshold. Tiny synthetic windows, CPU."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from ecgtk.export import train as tr  # noqa: E402
from ecgtk.export.dataset import WindowSet  # noqa: E402
from ecgtk.export.refit import best_epochs, fold_members, refit_members, refit_windows  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TINY = {"stem_filters": 8, "block_filters": (8, 8, 8), "block_kernel": 5, "lstm_units": 4}


def _context_windows(n: int, record: str, seed: int) -> WindowSet:
    """Model-2 shaped windows (300 samples, 2 leads + 2 templates + 2 RR): narrow spikes that
    come early (1) against wide bumps on time (0)."""
    rng = np.random.default_rng(seed)
    t = np.arange(300) - 150
    y = (np.arange(n) % 2).astype(np.int8)
    width = np.where(y == 1, 2.0, 12.0)[:, None]
    x = np.exp(-0.5 * (t[None, :] / width) ** 2) + rng.normal(0, 0.05, (n, 300))
    x = np.repeat(x[:, :, None], 6, axis=2).astype(np.float32)
    x[:, :, 2:4] = x[:, :, :2].mean(axis=0)
    x[:, :, 4:] = np.where(y == 1, -0.4, 0.0)[:, None, None]
    return WindowSet(x, y, np.full(n, record), np.full(n, record), np.arange(n) * 400,
                     np.zeros(n, np.int8), np.zeros(n, np.int8),
                     np.full(n, np.nan, np.float32), np.full(n, "N"))


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """A validated tiny model 2: trained on record "a", stopped early on record "b"."""
    folder = tmp_path_factory.mktemp("validated")
    settings = tr.TrainSettings(arch=TINY, verbose=0, batch_size=32)
    _, info = tr.train_windows("ventricular", _context_windows(256, "a", 0),
                               _context_windows(64, "b", 1), folder, epochs=3, seed=7,
                               settings=settings)
    return info


def test_best_epochs_is_the_validated_best_and_needs_one_phase(validated):
    assert best_epochs(validated) == validated["phases"][0]["best_epoch"] >= 1
    assert best_epochs({"phases": [{"best_epoch": 0}]}) == 1
    assert best_epochs({"phases": [{"best_epoch": 1}]}, min_epochs=3) == 3
    assert best_epochs({"phases": [{"best_epoch": 5}]}, min_epochs=3) == 5
    with pytest.raises(ValueError, match="min_epochs"):
        best_epochs({"phases": [{"best_epoch": 5}]}, min_epochs=0)
    with pytest.raises(ValueError, match="one validated training"):
        best_epochs({"phases": [{"best_epoch": 2}, {"best_epoch": 1}]})  # a fine-tuning


def test_model_2_stops_early_on_average_precision_by_default(validated):
    """Since 0.2.4 model 2's validated run (and so its refit's length) follows the validation
    patients' average precision of V, not their loss."""
    phase = validated["phases"][0]
    assert validated["settings"]["monitor"] is None  # the default, resolved per model
    assert phase["monitor"] == "val_ap"
    assert len(phase["val_ap"]) == phase["epochs_run"] >= 1
    assert phase["best_epoch"] == int(np.argmax(phase["val_ap"])) + 1
    assert best_epochs(validated) == phase["best_epoch"]


def test_refit_trains_on_every_record_and_keeps_the_threshold(validated, tmp_path):
    both = WindowSet.concat([_context_windows(256, "a", 0), _context_windows(64, "b", 1)])
    # as if the validated run had been best at epoch 4, at a learning rate a tiny model likes
    validated = {**validated, "phases": [{**validated["phases"][0], "best_epoch": 4}],
                 "settings": {**validated["settings"], "learning_rate": 3e-3}}
    path, info = refit_windows("ventricular", both, tmp_path, validated)
    saved = json.loads((tmp_path / "ventricular.train.json").read_text())
    assert path == tmp_path / "ventricular.keras" and path.is_file()
    assert saved["train_records"] == ["a", "b"] and saved["val_records"] == []
    assert saved["phases"][0]["epochs_run"] == 4
    assert saved["threshold"] == validated["threshold"]
    assert saved["refit_of"]["val_records"] == ["b"] and saved["seed"] == 7
    assert not (tmp_path / "ventricular.ckpt.keras").exists()  # nothing was watched
    import keras

    import ecgtk.export.architecture  # noqa: F401

    model = keras.models.load_model(str(path))
    p = tr.predict_proba(model, both.context_inputs(2))
    assert np.mean((p >= 0.5) == (both.y == 1)) > 0.9  # it learned the easy classes


@pytest.mark.slow
def test_refit_is_seeded_and_reuses_finished_members(validated, tmp_path):
    both = WindowSet.concat([_context_windows(256, "a", 0), _context_windows(64, "b", 1)])
    first = refit_members("ventricular", both, [validated], [tmp_path / "m0"])
    again = refit_windows("ventricular", both, tmp_path / "other", validated)[0]
    import keras

    import ecgtk.export.architecture  # noqa: F401

    x = both.context_inputs(2)[:64]
    p1 = tr.predict_proba(keras.models.load_model(str(first[0])), x)
    p2 = tr.predict_proba(keras.models.load_model(str(again)), x)
    np.testing.assert_allclose(p1, p2, atol=1e-5)
    stamp = first[0].stat().st_mtime_ns
    assert refit_members("ventricular", both, [validated], [tmp_path / "m0"]) == first
    assert first[0].stat().st_mtime_ns == stamp  # not trained again


def test_fold_members_reads_seed_zero_then_the_further_seeds(tmp_path):
    base, ens = tmp_path / "cv" / "fold0", tmp_path / "cv_ens" / "fold0"
    for folder, seed in ((base, 0), (ens / "seed1", 1), (ens / "seed2", 2)):
        folder.mkdir(parents=True)
        (folder / "ventricular.train.json").write_text(json.dumps({"seed": seed}))
    assert [m["seed"] for m in fold_members(base, ens)] == [0, 1, 2]


@pytest.mark.slow
def test_refit_crossval_writes_a_run_the_benchmarks_read(tmp_path, data_dir, monkeypatch):
    """One fake fold: tiny validated models (model 1 on synthetic windows, model 2 on 101 and
    119), 208 held out. The refit trains on 101 + 119, calls 208 again, keeps the threshold;
    each member's windows are of the kind it was validated on (seed 1: F beats as V)."""
    import ecgtk.export.refit as refit_module
    from ecgtk.export.dataset import build_windows
    from ecgtk.export.refit import refit_crossval
    from research.validation_eval import load_folds

    configs = []

    def recording_build(kind, data, records, **kwargs):
        configs.append(kwargs["ventricular_config"])
        return build_windows(kind, data, records, **kwargs)

    monkeypatch.setattr(refit_module, "build_windows", recording_build)

    base, ens = tmp_path / "cv" / "fold0", tmp_path / "cv_ens" / "fold0"
    settings = tr.TrainSettings(arch=TINY, verbose=0, batch_size=32)
    beat_x = _context_windows(128, "a", 0)
    beat = WindowSet(beat_x.x[:, 100:200, :2], *(getattr(beat_x, f) for f in (
        "y", "record", "patient", "sample", "variant", "source", "snr_db", "symbol")))
    tr.train_windows("beat", beat, beat, base, epochs=1, seed=0,
                     settings=tr.TrainSettings(arch=TINY, verbose=0, batch_size=32,
                                               context=False))
    windows = {r: build_windows("ventricular", [data_dir], [r], cache_dir="") for r in
               ("101", "119")}
    tr.train_windows("ventricular", windows["101"], windows["119"], base, epochs=1, seed=0,
                     settings=settings)
    tr.train_windows("ventricular", windows["101"], windows["119"], ens / "seed1", epochs=1,
                     seed=1, settings=settings,
                     extra_info={"windows": {"fusion_as_ventricular": True}})
    meta = {"fold": 0, "test_records": ["208"], "train_records": ["101"],
            "val_records": ["119"], "thresholds": {"beat": 0.05, "ventricular": 0.6}}
    (ens / "fold.json").write_text(json.dumps(meta))
    np.savez(ens / "probs_208.npz", candidates=np.zeros(0, np.int64))  # which records

    summary = refit_crossval(tmp_path / "cv", tmp_path / "cv_ens", tmp_path / "refit",
                             [data_dir], min_epochs=2)  # the validated members ran 1 epoch
    out = tmp_path / "refit" / "fold0"
    fold = json.loads((out / "fold.json").read_text())
    assert fold["thresholds"] == meta["thresholds"] and fold["refit"]["seeds"] == [0, 1]
    assert fold["refit"]["epochs"] == [2, 2]
    assert [c.fusion_as_ventricular for c in configs] == [False, True]
    assert sorted(p.name for p in out.glob("ventricular*.keras")) == [
        "ventricular.keras", "ventricular_1.keras"]
    for member in ("member0", "member1"):
        facts = json.loads((out / member / "ventricular.train.json").read_text())
        assert facts["train_records"] == ["101", "119"]
        assert facts["phases"][0]["epochs_run"] == 2 and facts["refit_of"]["epochs"] == 2
    assert summary["n_records"] == 1 and (tmp_path / "refit" / "crossval.json").is_file()
    features, thresholds = load_folds(tmp_path / "refit", [data_dir / "mitdb"])
    calls = np.load(out / "probs_208.npz")
    assert len(calls["candidates"]) > 100  # 208 detected again, not the empty list above
    assert len(calls["p_ventricular"]) == len(calls["candidates"])
    assert [f["record"] for f in features] == ["208"] and thresholds["fold0"]["ventricular"] == 0.6


def test_fold_members_of_a_run_without_the_baseline(tmp_path):
    """An ensemble run of new members alone (ensemble_cv --without-baseline): its own seed 0 and
    seed 1, not the baseline's model 2; a member the run names but lacks is an error."""
    base, ens = tmp_path / "cv" / "fold0", tmp_path / "cv_var" / "fold0"
    for folder, tag in ((base, "baseline"), (ens / "seed0", "own0"), (ens / "seed1", "own1")):
        folder.mkdir(parents=True)
        (folder / "ventricular.train.json").write_text(json.dumps({"tag": tag}))
    (ens / "fold.json").write_text(json.dumps({"ensemble": {"seeds": [0, 1]}}))
    assert [m["tag"] for m in fold_members(base, ens)] == ["own0", "own1"]
    (ens / "fold.json").write_text(json.dumps({"ensemble": {"seeds": [0, 1, 2]}}))
    with pytest.raises(FileNotFoundError, match="seed 2"):
        fold_members(base, ens)


def test_refit_command_refuses_a_minimum_under_one_epoch(tmp_path, capsys):
    from ecgtk.export.refit import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--data", str(tmp_path), "--baseline", str(tmp_path), "--ensemble",
              str(tmp_path), "--out", str(tmp_path / "out"), "--min-epochs", "0"])
    assert exit_info.value.code == 2 and "--min-epochs must be >= 1" in capsys.readouterr().err
