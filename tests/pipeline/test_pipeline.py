"""The run pipeline with the shipped models, on real excerpts and resampled copies."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import wfdb
from typer.testing import CliRunner

from ecgtk.cli import app
from ecgtk.inference.models import BeatModels, ModelSettings
from ecgtk.kernels.resample import resample_poly
from ecgtk.pipeline import analyse_recording
from ecgtk.readers import read_recording
from ecgtk.scoring import load_reference, score_record
from ecgtk.timing import StageClock


@pytest.fixture(scope="module")
def models():
    return BeatModels(ModelSettings())


@pytest.fixture(scope="module")
def analysed(models, data_dir):
    clock = StageClock()
    analysis = analyse_recording(read_recording(data_dir / "mitdb" / "208.hea"), models, clock)
    return analysis, clock


def test_shipped_models_declare_what_the_pipeline_needs(models):
    for name, info in models.info.items():
        assert info.rate_hz == 360.0 and info.input_leads in (1, 2)
        assert (info.before, info.after) == ({"beat": (50, 50),
                                              "ventricular": (150, 150)}[name])
        assert 0 < info.threshold < 1


def test_labels_probabilities_and_clusters_are_consistent(analysed):
    analysis, clock = analysed
    beats = analysis.beats.to_pydict()
    labels = np.array(beats["label"])
    assert set(labels) <= {"N", "V", "artefact"}
    p_beat = np.array(beats["p_beat"], dtype=float)
    assert ((p_beat >= 0) & (p_beat <= 1)).all()
    real = labels != "artefact"
    p_v = np.array([np.nan if v is None else v for v in beats["p_ventricular"]])
    assert ((p_v[real] >= 0) & (p_v[real] <= 1)).all()
    cluster = np.array([-1 if c is None else c for c in beats["cluster"]])
    assert (cluster[real] >= 0).all() and (cluster[~real] == -1).all()
    clusters = analysis.clusters.to_pydict()
    assert sorted(clusters["cluster"]) == list(range(len(clusters["cluster"])))
    assert sum(clusters["n_beats"]) == real.sum() == analysis.n_beats
    assert np.bincount(cluster[real]).tolist() == clusters["n_beats"]
    assert set(clock.seconds) >= {"read", "detect", "model1", "model2", "templates"}


def test_ventricular_beats_are_found_on_208(analysed, data_dir):
    analysis, _ = analysed
    beats = analysis.beats.to_pydict()
    score = score_record(load_reference(data_dir / "mitdb" / "208"),
                         np.array(beats["sample"]), np.array(beats["label"], dtype=object))
    assert score["beats"]["Se"] > 99 and score["beats"]["+P"] > 99
    assert score["veb"]["Se"] > 80 and score["veb"]["+P"] > 80  # 208: many V (and F) beats


def test_same_input_same_output(models, analysed, data_dir):
    again = analyse_recording(read_recording(data_dir / "mitdb" / "208.hea"), models)
    assert again.beats.equals(analysed[0].beats)
    assert again.clusters.equals(analysed[0].clusters)


def test_other_sampling_rates_give_the_same_beats(models, data_dir, tmp_path):
    record = wfdb.rdrecord(str(data_dir / "mitdb" / "119"))
    native = analyse_recording(read_recording(data_dir / "mitdb" / "119.hea"), models)
    at_250 = resample_poly(record.p_signal.astype(np.float32), 25, 36)
    np.save(tmp_path / "r250.npy", at_250)
    (tmp_path / "r250.json").write_text(json.dumps({"fs": 250}))
    resampled = analyse_recording(read_recording(tmp_path / "r250.npy"), models)
    a = native.beats.to_pydict()
    b = resampled.beats.to_pydict()
    keep_a = np.array(a["label"]) != "artefact"
    keep_b = np.array(b["label"]) != "artefact"
    assert abs(keep_a.sum() - keep_b.sum()) <= 2
    t_a = np.array(a["time_s"])[keep_a]
    t_b = np.array(b["time_s"])[keep_b]
    near = np.abs(t_b[:, None] - t_a[None, :]).min(axis=1)
    assert np.median(near) < 0.02
    v_a = (np.array(a["label"]) == "V").sum()
    v_b = (np.array(b["label"]) == "V").sum()
    assert abs(v_a - v_b) <= max(3, 0.05 * v_a)


def test_explain_writes_heatmaps_and_figures(data_dir, tmp_path):
    result = CliRunner().invoke(app, ["explain", str(data_dir / "mitdb" / "119.hea"),
                                      "--beats", "V", "--limit", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(tmp_path / "heatmaps.parquet").to_pydict()
    assert len(table["sample"]) == 3 and set(table["label"]) == {"V"}
    for heatmap in table["heatmap"]:
        heat = np.array(heatmap)
        assert len(heat) == 300 and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    assert len(list(tmp_path.glob("*.png"))) == 3


def test_shipped_model_2_carries_context_uncertainty_and_calibration(models):
    info = models.info["ventricular"]
    assert info.context == "template+rr" and info.input_leads == 2
    assert info.mc_passes == 32 and info.calibration is not None
    assert 0 < info.review_threshold < 0.5
    assert models.info["beat"].context is None and models.info["beat"].mc_passes == 0


def test_uncertainty_review_and_cluster_means(analysed, models):
    analysis, _ = analysed
    beats = analysis.beats.to_pandas()
    real = beats[beats.label != "artefact"]
    assert real.uncertainty.notna().all() and real.p_ventricular.between(0, 1).all()
    assert (real.uncertainty >= 0).all() and (real.uncertainty <= 0.5).all()
    threshold = models.info["ventricular"].review_threshold
    assert (real.review == (real.uncertainty >= threshold)).all()
    assert analysis.n_review == int(real.review.sum())
    assert beats[beats.label == "artefact"].review.isna().all()
    clusters = analysis.clusters.to_pandas()
    means = real.groupby("cluster").uncertainty.mean()
    assert np.allclose(clusters.set_index("cluster").mean_uncertainty.loc[means.index], means,
                       atol=1e-5)
    assert real.uncertainty.std() > 0.005  # the passes disagree on some beats, not all
