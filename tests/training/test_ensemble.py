"""Ensembles (export/ensemble.py): members on disk, one ONNX graph that averages them, and the
pipeline reading it like any model 2."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("onnx")

from ecgtk.export.architecture import build_model  # noqa: E402
from ecgtk.export.ensemble import member_path, member_paths, merge_members  # noqa: E402
from ecgtk.export.mc_dropout import DEFAULT_SEED, dropout_masks, head_of, keras_passes  # noqa: E402
from ecgtk.export.onnx_export import cpu_session, export_onnx, read_onnx_metadata  # noqa: E402
from ecgtk.inference.sessions import predict_with_passes, read_model_info  # noqa: E402

TINY = {"stem_filters": 8, "block_filters": (8, 8), "block_kernel": 5, "lstm_units": 4,
        "stem_stride": 2}
META = {"classes": ["non-ventricular", "ventricular"], "training_data": "unit test",
        "input_leads": [f"channel {i}" for i in range(6)], "context": "template+rr"}


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Two tiny model-2 trainings (different random weights), saved as an ensemble's files."""
    import keras

    folder = tmp_path_factory.mktemp("ensemble")
    paths = []
    for index in range(2):
        keras.utils.set_random_seed(index)
        path = member_path(folder / "ventricular.keras", index)
        build_model(300, 6, **TINY).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def windows():
    return np.random.default_rng(3).normal(0, 1, (48, 300, 6)).astype(np.float32)


def test_member_paths_follow_the_first(tmp_path, members):
    assert member_path(tmp_path / "v.keras", 0) == tmp_path / "v.keras"
    assert member_path(tmp_path / "v.keras", 2) == tmp_path / "v_2.keras"
    assert member_paths(members[0]) == members
    assert member_paths(tmp_path / "v.keras") == [tmp_path / "v.keras"]  # one model alone


def test_graph_averages_the_members_and_shares_the_passes(members, windows, tmp_path):
    from ecgtk.export.onnx_export import load_keras_model

    out = tmp_path / "ventricular.onnx"
    report = export_onnx(members, out, metadata=META, parity_windows=windows, mc_passes=8)
    assert report["max_abs_diff"] <= 1e-4 and report["max_abs_diff_passes"] <= 1e-4
    meta = read_onnx_metadata(out)
    assert meta["ensemble_members"] == "2" and meta["mc_passes"] == "8"
    assert len(meta["keras_sha256"].split(",")) == 2
    models = [load_keras_model(p) for p in members]
    keras_mean = np.mean([np.asarray(m(windows, training=False)) for m in models], axis=0)
    probabilities, passes = predict_with_passes(cpu_session(out), windows, 16)
    np.testing.assert_allclose(probabilities, keras_mean, atol=1e-4)
    alone = np.asarray(models[0](windows, training=False))
    assert np.abs(probabilities - alone).max() > 1e-3  # the second member counts
    _, rate, kernel, _ = head_of(models[0])
    masks = dropout_masks(kernel.shape[0], rate, 4, DEFAULT_SEED)  # 4 passes each
    expected = np.concatenate([keras_passes(m, windows, masks) for m in models], axis=1)
    assert passes.shape == (len(windows), 8)
    np.testing.assert_allclose(passes, expected, atol=1e-4)  # member 0's passes first
    info = read_model_info(out, "ventricular")
    assert info.members == 2 and info.mc_passes == 8 and info.input_leads == 2


def test_one_member_is_a_plain_model(members, windows, tmp_path):
    out = tmp_path / "one.onnx"
    export_onnx(members[:1], out, metadata=META, parity_windows=windows, mc_passes=8)
    assert read_model_info(out, "ventricular").members == 1
    assert not any(n.name.startswith("m0/") for n in __import__("onnx").load(out).graph.node)


def test_passes_must_share_out_evenly(members, windows, tmp_path):
    with pytest.raises(ValueError, match="multiple"):
        export_onnx(members, tmp_path / "x.onnx", metadata=META, parity_windows=windows,
                    mc_passes=5)
    assert not (tmp_path / "x.onnx").exists()


def test_members_must_match(members, windows, tmp_path):
    from ecgtk.export.onnx_direct import build_onnx
    from ecgtk.export.onnx_export import load_keras_model

    other = build_model(100, 2, **{**TINY, "stem_stride": 1})
    with pytest.raises(ValueError, match="share their input"):
        export_onnx([members[0], other], tmp_path / "x.onnx", metadata=META,
                    parity_windows=windows)
    with_passes = build_onnx(load_keras_model(members[0]), masks=np.ones((2, 8), np.float32))
    without = build_onnx(load_keras_model(members[1]))
    with pytest.raises(ValueError, match="outputs"):
        merge_members([with_passes, without])


def test_pipeline_runs_an_ensemble_model(members, windows, tmp_path):
    """ecgtk's sessions read an ensemble graph like any model 2 (shipped model 1 beside it)."""
    from ecgtk.engines.archive import sample_archive
    from ecgtk.inference.models import BeatModels, ModelSettings
    from ecgtk.readers import read_recording

    out = tmp_path / "ventricular.onnx"
    export_onnx(members, out, metadata={**META, "decision_threshold": 0.5},
                parity_windows=windows, mc_passes=32)
    recording = read_recording(sorted(sample_archive().glob("*.hea"))[0])
    signal = recording.read(0, int(60 * recording.fs))
    candidates = np.arange(400, len(signal) - 400, 300)
    calls = BeatModels(ModelSettings(ventricular_path=out)).call_chunk(
        signal, recording.fs, candidates)
    beats = calls.is_beat
    assert beats.any() and calls.p_passes.shape == (len(candidates), 32)
    assert np.isfinite(calls.p_ventricular[beats]).all()
    assert json.loads(read_onnx_metadata(out)["classes"])[1] == "ventricular"


def test_ensemble_crossval_writes_a_run_calibration_can_read(data_dir, tmp_path, monkeypatch):
    """One fold of a tiny 'run' (train 101, validate 119, hold out 208): the new member is
    trained, the probabilities averaged, and the run's files laid out like crossval's."""
    import keras

    from ecgtk.export import train as tr
    from ecgtk.export.crossval import PipelineModels, run_pipeline
    from ecgtk.export.dataset import load_record
    from ecgtk.export.ensemble_crossval import ensemble_crossval

    monkeypatch.setenv("ECGTK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(tr.DEFAULT_EPOCHS, "ventricular", 1)
    monkeypatch.setitem(tr.DEFAULT_ARCH, "ventricular", TINY)
    baseline = tmp_path / "cv"
    fold = baseline / "fold0"
    fold.mkdir(parents=True)
    keras.utils.set_random_seed(0)
    build_model(300, 6, **TINY).save(fold / "ventricular.keras")
    rd = load_record([data_dir], "208")
    constant = _Constant(0.9)
    np.savez(fold / "probs_208.npz", **run_pipeline(
        rd.signal, PipelineModels(constant, constant), rd.fs))
    (fold / "fold.json").write_text(json.dumps({
        "fold": 0, "test_records": ["208"], "train_records": ["101"], "val_records": ["119"],
        "thresholds": {"beat": 0.5, "ventricular": 0.5}, "records": {}}))
    (baseline / "crossval.json").write_text(json.dumps({"seed": 0}))

    out = tmp_path / "cv_ensemble"
    summary = ensemble_crossval(baseline, out, [data_dir], [1], verbose=False,
                                windows={"fusion_as_ventricular": True}, monitor="val_ap")
    facts = json.loads((out / "fold0" / "seed1" / "ventricular.train.json").read_text())
    capped = {"max_ventricular": 200, "fusion_as_ventricular": True}  # over TRAINING_WINDOWS
    assert facts["windows"] == capped  # what a refit rebuilds
    assert facts["settings"]["monitor"] == facts["phases"][0]["monitor"] == "val_ap"
    fold_facts = json.loads((out / "fold0" / "fold.json").read_text())
    assert fold_facts["ensemble"]["windows"] == capped
    assert fold_facts["ensemble"]["member_windows"] == [capped]
    assert fold_facts["ensemble"]["monitor"] == "val_ap"
    assert member_paths(out / "fold0" / "ventricular.keras") == [
        out / "fold0" / "ventricular.keras", out / "fold0" / "ventricular_1.keras"]
    before, after = np.load(fold / "probs_208.npz"), np.load(out / "fold0" / "probs_208.npz")
    with before, after:
        np.testing.assert_array_equal(after["candidates"], before["candidates"])
        np.testing.assert_array_equal(after["p_beat"], before["p_beat"])
        assert np.abs(after["p_ventricular"] - before["p_ventricular"]).max() > 0  # averaged
    assert summary["n_records"] == 1 and "veb" in summary["pipeline"]
    assert (out / "crossval.json").is_file()
    assert ensemble_crossval(baseline, out, [data_dir], [1], verbose=False) == json.loads(
        (out / "crossval.json").read_text())  # a finished fold is not run again

    # a member reused from an older run (facts without "windows": every V beat) is recorded
    # as it was trained, not as the new run's options ask (member_combinations mixes runs)
    reused = tmp_path / "cv_reused"
    shutil.copytree(out / "fold0" / "seed1", reused / "fold0" / "seed1")
    old_facts = reused / "fold0" / "seed1" / "ventricular.train.json"
    old_facts.write_text(json.dumps({k: v for k, v in facts.items() if k != "windows"}))
    ensemble_crossval(baseline, reused, [data_dir], [1], verbose=False)
    mixed = json.loads((reused / "fold0" / "fold.json").read_text())["ensemble"]
    assert mixed["member_windows"] == [{}] and mixed["windows"] == {}


def test_shared_or_none_names_the_windows_only_when_every_member_shares_them():
    from ecgtk.export.ensemble_crossval import shared_or_none

    capped = {"max_ventricular": 200}
    assert shared_or_none([capped, dict(capped)]) == capped
    assert shared_or_none([capped, {}]) is None
    assert shared_or_none([]) is None


class _Constant:
    """A stand-in model: p(class 1) = ``p`` for every window."""

    def __init__(self, p: float) -> None:
        self.p = p

    def __call__(self, x):
        return np.full(len(x), self.p, np.float32)
