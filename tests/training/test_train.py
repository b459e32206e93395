"""Training: a tiny model trains, train_command writes a .keras, fine-tuning freezes the trunk
first. CPU only, small data (synthetic windows and the 2-minute excerpts in tests/data)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

from ecgtk.export import commands  # noqa: E402
from ecgtk.export import train as tr  # noqa: E402
from ecgtk.export.dataset import WindowSet  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TINY = {"stem_filters": 8, "block_filters": (8, 8, 8), "block_kernel": 5, "lstm_units": 4}


def _windows(n: int, length: int, record: str, seed: int, channels: int = 2) -> WindowSet:
    """Two easy classes: a narrow spike (1) or a wide bump (0) in the middle, plus noise; with
    ``channels=6`` laid out as model 2's context inputs (2 leads, 2 templates, 2 RR)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) - length // 2
    y = (np.arange(n) % 2).astype(np.int8)
    width = np.where(y == 1, 2.0, 12.0)[:, None]
    x = np.exp(-0.5 * (t[None, :] / width) ** 2) + rng.normal(0, 0.05, (n, length))
    x = np.repeat(x[:, :, None], channels, axis=2).astype(np.float32)
    if channels == 6:
        x[:, :, 2:4] = x[:, :, :2].mean(axis=0)  # the "template"
        x[:, :, 4:] = np.where(y == 1, -0.4, 0.0)[:, None, None]  # V beats come early
    return WindowSet(x, y, np.full(n, record), np.full(n, record), np.arange(n) * 400,
                     np.zeros(n, np.int8), np.zeros(n, np.int8),
                     np.full(n, np.nan, np.float32), np.full(n, "N"))


def _settings(**kw) -> tr.TrainSettings:
    return tr.TrainSettings(arch=TINY, verbose=0, batch_size=32, **kw)


def test_tiny_model_trains_one_epoch(tmp_path):
    train, val = _windows(320, 100, "a", 0), _windows(64, 100, "b", 1)
    path, info = tr.train_windows("beat", train, val, tmp_path, epochs=1, seed=0,
                                  settings=_settings(context=False))
    assert path == tmp_path / "beat.keras" and path.is_file()
    assert (tmp_path / "beat.ckpt.keras").is_file()  # ModelCheckpoint
    saved = json.loads((tmp_path / "beat.train.json").read_text())
    assert saved["phases"][0]["epochs_run"] == 1
    assert saved["train_counts"] == {"0": 160, "1": 160}
    assert 0 < info["threshold"]["threshold"] <= 0.5
    assert info["n_leads"] == 2 and info["window"] == [50, 50]
    import keras

    model = keras.models.load_model(str(path))
    assert model.input_shape == (None, 100, 2) and model.output_shape == (None, 2)


@pytest.mark.slow
def test_training_is_seeded(tmp_path):
    train, val = _windows(128, 100, "a", 0), _windows(32, 100, "b", 1)
    s = _settings(n_leads=1, context=False)
    _, a = tr.train_windows("beat", train, val, tmp_path / "a", epochs=1, seed=3, settings=s)
    _, b = tr.train_windows("beat", train, val, tmp_path / "b", epochs=1, seed=3, settings=s)
    assert a["phases"][0]["loss"] == pytest.approx(b["phases"][0]["loss"], rel=1e-4)


@pytest.mark.slow
def test_fine_tune_freezes_then_unfreezes_trunk(tmp_path, monkeypatch):
    from ecgtk.export.architecture import trunk_layers

    train, val = _windows(200, 300, "a", 0, 6), _windows(40, 300, "b", 1, 6)
    base, _ = tr.train_windows("ventricular", train, val, tmp_path / "base", epochs=1,
                               seed=0, settings=_settings())
    seen = []
    real_fit = tr._fit

    def spy(model, *args, **kwargs):
        trunk = trunk_layers(model)
        seen.append((kwargs["phase"], kwargs["lr"], [layer.trainable for layer in trunk]))
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(tr, "_fit", spy)
    path, info = tr.train_windows("ventricular", train, val, tmp_path / "ft", init=base,
                                  epochs=2, seed=0, settings=_settings())
    assert path.is_file()
    assert [s[0] for s in seen] == ["head (trunk frozen)", "all layers"]
    assert seen[0][2] and not any(seen[0][2])  # trunk frozen in phase 1
    assert all(seen[1][2])  # ... and trainable in phase 2
    assert seen[0][1] == tr.HEAD_LR and seen[1][1] == tr.FINE_TUNE_LR
    head, full = info["phases"]
    assert head["trainable_params"] < full["trainable_params"]
    assert info["init"] == str(base)


def test_fine_tune_rejects_wrong_input(tmp_path):
    base, _ = tr.train_windows("beat", _windows(64, 100, "a", 0), _windows(16, 100, "b", 1),
                               tmp_path / "base", epochs=1, settings=_settings(context=False))
    with pytest.raises(ValueError, match="does not fit"):
        tr.train_windows("ventricular", _windows(64, 300, "a", 0, 6),
                         _windows(16, 300, "b", 1, 6), tmp_path / "ft", init=base, epochs=1,
                         settings=_settings())


def test_train_model_refuses_shared_patients(tmp_path, data_dir):
    with pytest.raises(ValueError, match="both training and validation"):
        tr.train_model("beat", ["119", "101"], ["119e06"], data_dir, tmp_path)


def test_discover_records(data_dir):
    assert commands.discover_records([data_dir], "beat") == ["101", "119", "208"]


def test_train_command_writes_keras(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("ECGTK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tr, "DEFAULT_LEADS", {"beat": 1, "ventricular": 1})
    path = commands.train_command("beat", [data_dir], tmp_path / "out", None, 1, ["208"])
    assert path == tmp_path / "out" / "beat.keras" and path.is_file()
    info = json.loads((tmp_path / "out" / "beat.train.json").read_text())
    assert info["val_records"] == ["208"] and info["train_records"] == ["101", "119"]
    assert any((tmp_path / "cache").iterdir())
    with pytest.raises(ValueError, match="not found"):
        commands.train_command("beat", [data_dir], tmp_path / "out", None, 1, ["999"])


@pytest.mark.slow
def test_train_command_refit_trains_again_on_every_record(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("ECGTK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tr, "DEFAULT_LEADS", {"beat": 1, "ventricular": 1})
    path = commands.train_command("beat", [data_dir], tmp_path / "out", None, 1, ["208"],
                                  refit=True)
    assert path == tmp_path / "out" / "refit" / "beat.keras" and path.is_file()
    validated = json.loads((tmp_path / "out" / "beat.train.json").read_text())
    info = json.loads((tmp_path / "out" / "refit" / "beat.train.json").read_text())
    assert info["train_records"] == ["101", "119", "208"] and info["val_records"] == []
    assert info["threshold"] == validated["threshold"]
    assert info["phases"][0]["epochs_run"] == validated["phases"][0]["best_epoch"]
    with pytest.raises(ValueError, match="cannot follow --init"):
        commands.train_command("beat", [data_dir], tmp_path / "x", path, 1, ["208"], refit=True)


@pytest.mark.slow
def test_train_command_caps_v_beats_in_training_windows_only(tmp_path, data_dir, monkeypatch):
    """``ecgtk train ventricular`` trains (and refits) on the shipped recipe's training windows,
    at most TRAINING_WINDOWS' V beats per record, and its validation windows keep every beat;
    the facts say which windows, so a later refit rebuilds the same."""
    from ecgtk.export import dataset as ds

    monkeypatch.setenv("ECGTK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(tr.DEFAULT_ARCH, "ventricular", TINY)
    monkeypatch.setattr(ds, "TRAINING_WINDOWS", {"max_ventricular": 20})
    commands.train_command("ventricular", [data_dir], tmp_path / "out", None, 1, ["119"],
                           refit=True)
    validated = json.loads((tmp_path / "out" / "ventricular.train.json").read_text())
    refit = json.loads((tmp_path / "out" / "refit" / "ventricular.train.json").read_text())
    assert validated["train_records"] == ["101", "208"]  # 0 and 67 V beats
    assert validated["train_counts"]["1"] == 20 and validated["val_counts"]["1"] == 27
    assert refit["train_counts"]["1"] == 40  # 208 and 119 capped at 20 each
    assert validated["windows"] == refit["windows"] == {"max_ventricular": 20}


def test_beat_model_with_context_trains_exports_and_runs(tmp_path):
    """Model 1 may read the context channels too: trained on 6 channels, exported with the
    context in its metadata, and run by the pipeline (its QRS amplitude from the leads only)."""
    from ecgtk.engines.archive import sample_archive
    from ecgtk.inference.models import BeatModels, ModelSettings
    from ecgtk.inference.sessions import read_model_info
    from ecgtk.readers import read_recording

    train, val = _windows(160, 100, "a", 0, 6), _windows(32, 100, "b", 1, 6)
    path, info = tr.train_windows("beat", train, val, tmp_path, epochs=1, seed=0,
                                  settings=_settings(context=True))
    assert info["context"] is True and info["n_leads"] == 2
    import keras

    assert keras.models.load_model(str(path)).input_shape == (None, 100, 6)
    assert tr.trained_before(tmp_path, "beat")[1]["context"] is True
    onnx_path = tmp_path / "beat.onnx"
    commands.export_command(path, onnx_path)
    beat = read_model_info(onnx_path, "beat")
    assert beat.context and beat.input_leads == 2

    recording = read_recording(sorted(sample_archive().glob("*.hea"))[0])
    signal = recording.read(0, int(60 * recording.fs))
    candidates = np.arange(200, len(signal) - 200, 300)
    models = BeatModels(ModelSettings(beat_path=onnx_path))
    calls = models.call_chunk(signal, recording.fs, candidates)
    assert calls.p_beat.shape == calls.amplitude.shape == (len(candidates),)
    plain = BeatModels().call_chunk(signal, recording.fs, candidates)
    np.testing.assert_allclose(calls.amplitude, plain.amplitude)  # leads, not templates
