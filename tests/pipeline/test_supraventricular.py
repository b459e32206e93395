"""The supraventricular stage: S labels from the third classifier and their uncertainty (the
spread over its bootstrap fits), through the whole pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ecgtk
from ecgtk.labelling.supraventricular import (
    FEATURE_NAMES,
    Bootstrap,
    MorphologyLayout,
    SupraventricularModel,
    label_supraventricular,
    load_supraventricular,
    shipped_supraventricular_path,
)
from ecgtk.models import sha256_of, shipped_models
from ecgtk.tables import beats_table

FS = 360.0
RR_S = 0.85


def _beat(t: np.ndarray) -> np.ndarray:
    """A narrow synthetic beat (P, Q, R, S, T as Gaussians), mV, ``t`` s from its R peak."""
    return (0.15 * np.exp(-((t + 0.16) / 0.025) ** 2) - 0.1 * np.exp(-((t + 0.03) / 0.008) ** 2)
            + 1.2 * np.exp(-(t / 0.010) ** 2) - 0.25 * np.exp(-((t - 0.03) / 0.01) ** 2)
            + 0.3 * np.exp(-((t - 0.28) / 0.06) ** 2))


def synthetic_ecg(premature_every: int = 0, seconds: float = 300.0, seed: int = 0):
    """Two leads at 360 Hz of sinus rhythm (RR 0.85 s); with ``premature_every`` k, every
    k-th beat comes 30 % early with the same narrow QRS and the next follows 1.3 RR later.
    Returns the signal and the premature beats' R-peak samples."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    peaks, early, t, k = [], [], 0.5, 0
    while t < seconds - 1:
        pre = bool(premature_every) and k % premature_every == premature_every - 1
        peaks.append(t - (0.3 * RR_S if pre else 0.0))
        early.append(pre)
        t += RR_S * 1.3 if pre else RR_S + 0.02 * rng.standard_normal()
        k += 1
    x = np.zeros(n)
    tt = np.arange(n) / FS
    for p in peaks:
        a, b = max(int((p - 0.4) * FS), 0), min(int((p + 0.6) * FS), n)
        x[a:b] += _beat(tt[a:b] - p)
    x += 0.01 * rng.standard_normal(n)
    signal = np.stack([x, 0.7 * x], axis=1).astype(np.float32)
    return signal, np.round(np.asarray(peaks)[np.asarray(early, bool)] * FS).astype(np.int64)


@pytest.fixture(scope="module")
def regular():
    signal, _ = synthetic_ecg(0)
    return ecgtk.analyse(signal, fs=FS, record_id="regular")


@pytest.fixture(scope="module")
def with_premature():
    signal, early = synthetic_ecg(7)
    return ecgtk.analyse(signal, fs=FS, record_id="premature"), early


def test_a_regular_rhythm_has_no_s_beats(regular):
    labels = np.array(regular.beats.column("label").to_pylist())
    assert (labels == "N").sum() > 300
    assert "S" not in labels
    assert regular.record.column("n_supraventricular").to_pylist() == [0]


def test_premature_narrow_beats_are_s(with_premature):
    analysis, early = with_premature
    beats = analysis.beats
    labels = np.array(beats.column("label").to_pylist())
    samples = np.asarray(beats.column("sample").to_pylist())
    s_samples = samples[labels == "S"]
    near = np.abs(s_samples[:, None] - early[None, :]).min(axis=1) <= 0.05 * FS
    assert near.all()  # every S beat is a premature beat
    assert s_samples.size >= 0.9 * early.size  # and nearly every premature beat is S
    row = analysis.record.to_pylist()[0]
    assert row["n_supraventricular"] == s_samples.size
    assert row["n_sv_runs"] == 0 and row["longest_sv_run_beats"] == 1


def test_p_supraventricular_is_set_for_n_and_s_beats_only(with_premature):
    beats = with_premature[0].beats
    labels = np.array(beats.column("label").to_pylist())
    p = np.array(beats.column("p_supraventricular").to_pylist(), dtype=object)
    known = np.array([v is not None for v in p])
    assert (known == np.isin(labels, ["N", "S"])).all()
    values = p[known].astype(float)
    threshold = load_supraventricular().threshold
    assert ((values >= threshold) == (labels[known] == "S")).all()


def test_uncertainty_is_set_where_p_is_and_lies_in_0_to_half(with_premature):
    beats = with_premature[0].beats
    assert str(beats.schema.field("uncertainty_supraventricular").type) == "float"
    p = beats.column("p_supraventricular")
    u = beats.column("uncertainty_supraventricular")
    assert u.is_null().equals(p.is_null())
    values = np.asarray(u.drop_null().to_pylist())
    assert values.size > 300 and (values >= 0).all() and (values <= 0.5).all()
    assert values.max() > 0  # the bootstrap fits disagree somewhere


def _steady_with_premature(n: int = 200, every: int = 10):
    samples = np.arange(1, n + 1, dtype=np.int64) * 300
    samples[every - 1::every] -= 100
    return samples, np.array(["N"] * n, dtype=object), np.zeros((n, 120), np.float32)


def test_beats_inside_af_are_never_s():
    layout = MorphologyLayout.of_model(150, 150, 360.0, 2, 5)
    samples, labels, morphology = _steady_with_premature()
    out, p, u = label_supraventricular(samples, labels, morphology, layout)
    s_rows = np.flatnonzero(out == "S")
    assert set(range(9, 190, 10)) <= set(s_rows) <= set(range(9, 200, 10))
    af = [(int(samples[50]), int(samples[150]))]
    out_af, p_af, u_af = label_supraventricular(samples, labels, morphology, layout, af)
    inside = (samples >= af[0][0]) & (samples <= af[0][1])
    assert not (out_af[inside] == "S").any() and (p_af[inside] == 0).all()
    assert (u_af[inside] == 0).all()  # the rule decides inside AF, not the model
    assert (u[inside] > 0).any()  # outside AF the same beats have a spread
    assert (out_af[~inside] == out[~inside]).all()
    np.testing.assert_array_equal(u_af[~inside], u[~inside])


def test_v_and_artefacts_stay_as_they_are():
    layout = MorphologyLayout.of_model(150, 150, 360.0, 2, 5)
    samples, labels, morphology = _steady_with_premature()
    labels[9] = "V"
    labels[19] = "artefact"
    out, p, u = label_supraventricular(samples, labels, morphology, layout)
    assert out[9] == "V" and out[19] == "artefact"
    assert np.isnan(p[9]) and np.isnan(p[19])
    assert np.isnan(u[9]) and np.isnan(u[19]) and not np.isnan(u[[0, 29]]).any()


def test_the_model_file_round_trips_and_is_shipped(tmp_path):
    model = load_supraventricular()
    assert model.features == FEATURE_NAMES
    copy = tmp_path / "sv.json"
    copy.write_text(json.dumps(model.to_dict()))
    again = SupraventricularModel.from_dict(json.loads(copy.read_text()))
    x = np.random.default_rng(0).normal(size=(5, len(FEATURE_NAMES)))
    np.testing.assert_allclose(again.probability(x), model.probability(x))
    assert model.bootstrap is not None and model.bootstrap.coef.shape == (32, len(FEATURE_NAMES))
    np.testing.assert_allclose(again.uncertainty(x), model.uncertainty(x))
    path = shipped_supraventricular_path()
    assert path in shipped_models() and len(sha256_of(path)) == 64


def test_the_p_wave_region_is_before_the_qrs():
    layout = MorphologyLayout.of_model(150, 150, 360.0, 2, 5)
    assert (layout.length, layout.centre, layout.rate_hz) == (60, 30, 72.0)
    assert layout.region((-0.25, -0.08)) == (12, 25)


def _tiny_model() -> SupraventricularModel:
    """A hand-made model on the first two features, with three bootstrap fits."""
    k = len(FEATURE_NAMES)
    coef = np.zeros(k)
    coef[:2] = [-2.0, 1.0]
    boot = np.zeros((3, k))
    boot[:, :2] = [[-1.5, 0.5], [-2.5, 1.5], [-2.0, 0.0]]
    return SupraventricularModel(
        FEATURE_NAMES, np.full(k, 0.1), np.full(k, 0.5), coef, -3.0, 0.2,
        bootstrap=Bootstrap(boot, np.array([-2.5, -3.5, -3.0])))


def test_uncertainty_is_the_spread_of_p_over_the_bootstrap_fits():
    model = _tiny_model()
    x = np.random.default_rng(1).normal(0, 0.3, size=(50, len(FEATURE_NAMES)))
    x[3, 0] = np.nan  # a missing feature counts as the training mean, as in probability()
    expected = []
    for row in x:
        z = np.nan_to_num((row - 0.1) / 0.5)
        ps = [1 / (1 + np.exp(-(z @ c + b)))
              for c, b in zip(model.bootstrap.coef, model.bootstrap.intercept, strict=True)]
        expected.append(np.std(ps))
    np.testing.assert_allclose(model.uncertainty(x), expected, rtol=1e-12)
    assert (model.uncertainty(x) <= 0.5).all()


def test_a_model_file_without_bootstrap_loads_and_leaves_the_uncertainty_null(tmp_path):
    shipped = load_supraventricular()
    d = shipped.to_dict()
    d.pop("bootstrap")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(d))
    model = load_supraventricular(old)
    assert model.bootstrap is None
    layout = MorphologyLayout.of_model(150, 150, 360.0, 2, 5)
    samples, labels, morphology = _steady_with_premature()
    af = [(int(samples[50]), int(samples[150]))]
    out, p, u = label_supraventricular(samples, labels, morphology, layout, af, model)
    out_new, p_new, _ = label_supraventricular(samples, labels, morphology, layout, af, shipped)
    assert (out == out_new).all() and np.array_equal(p, p_new, equal_nan=True)
    assert np.isnan(u).all()  # unknown, inside AF as well
    table = beats_table("r", samples, 360.0, labels=out, p_supraventricular=p,
                        uncertainty_supraventricular=u)
    assert table.column("uncertainty_supraventricular").null_count == len(samples)


def test_a_bootstrap_needs_one_intercept_per_fit():
    d = _tiny_model().to_dict()
    assert d["bootstrap"]["fits"] == 3
    d["bootstrap"]["intercept"] = [0.0, 1.0]
    with pytest.raises(ValueError, match="bootstrap"):
        SupraventricularModel.from_dict(d)
