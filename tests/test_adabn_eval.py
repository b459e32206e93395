"""Batch-norm statistics per record (benchmarks/adabn_eval.py): the alignment and the adaptation."""

import numpy as np
import pytest

from ecgtk.benchmarks.adabn_eval import aligned_statistics, believed_normal


@pytest.fixture
def moments():
    rng = np.random.default_rng(3)
    mu, var = rng.normal(size=5), rng.uniform(0.5, 2.0, 5)
    return mu, var, 1e-3, rng.normal(size=5), rng.uniform(0.5, 2.0, 5)


def test_own_statistics_as_reference_is_adabn(moments):
    mu, var, eps, m, v = moments
    new_mu, new_var = aligned_statistics(mu, var, eps, m, v, mu, var + eps)
    np.testing.assert_allclose(new_mu, m)
    np.testing.assert_allclose(new_var + eps, v)


def test_record_normalises_as_the_reference_did(moments):
    mu, var, eps, m, v = moments
    ref_m, ref_v = m * 0.3 - 1.0, v * 2.5
    new_mu, new_var = aligned_statistics(mu, var, eps, m, v, ref_m, ref_v)
    sigma, new_sigma = np.sqrt(var + eps), np.sqrt(new_var + eps)
    np.testing.assert_allclose((m - new_mu) / new_sigma, (ref_m - mu) / sigma, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(v) / new_sigma, np.sqrt(ref_v) / sigma)


def test_believed_normal_falls_back_to_the_lower_half():
    p = np.linspace(0, 1, 300)
    assert believed_normal(p, 0.1).sum() == 150  # 30 under 0.1: too few
    assert believed_normal(p, 0.5, least=100).sum() == 150
    assert believed_normal(np.r_[np.zeros(200), np.ones(10)], 0.1).sum() == 200


def test_adapted_model_sees_a_shifted_record_as_the_reference():
    keras = pytest.importorskip("keras")
    from ecgtk.benchmarks.adabn_eval import adapt_batch_norm, reference_moments

    rng = np.random.default_rng(0)
    inputs = keras.Input((20, 2))
    x = keras.layers.BatchNormalization()(inputs)
    x = keras.layers.Conv1D(4, 3, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(x))
    model.layers[1].moving_mean.assign(np.array([0.2, -0.1]))
    model.layers[1].moving_variance.assign(np.array([1.5, 0.7]))
    reference = rng.normal(size=(400, 20, 2)).astype(np.float32)
    record = (reference * np.array([3.0, 0.5]) + np.array([2.0, -4.0])).astype(np.float32)
    before = model.predict(reference, verbose=0)
    moments = reference_moments(model, reference)
    assert not np.allclose(model.predict(record, verbose=0), before, atol=1e-2)
    adapt_batch_norm(model, record, moments)
    np.testing.assert_allclose(model.predict(record, verbose=0), before, atol=1e-3)


def test_plain_adabn_normalises_the_record_to_zero_mean_unit_variance():
    keras = pytest.importorskip("keras")
    from ecgtk.benchmarks.adabn_eval import adapt_batch_norm

    inputs = keras.Input((10, 3))
    model = keras.Model(inputs, keras.layers.BatchNormalization(epsilon=1e-6)(inputs))
    record = np.random.default_rng(1).normal(5.0, 2.0, size=(300, 10, 3)).astype(np.float32)
    out = adapt_batch_norm(model, record).predict(record, verbose=0)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1)), 1.0, atol=1e-3)
    fresh = keras.models.clone_model(model)  # moving mean 0, variance 1
    half = adapt_batch_norm(fresh, record, share=0.5).layers[1]
    np.testing.assert_allclose(np.asarray(half.moving_mean), 0.5 * record.mean(axis=(0, 1)),
                               rtol=1e-5)


def test_layers_limits_the_adaptation_to_the_first_batch_norms():
    keras = pytest.importorskip("keras")
    from ecgtk.benchmarks.adabn_eval import adapt_batch_norm, batch_norm_layers

    inputs = keras.Input((12, 2))
    x = keras.layers.BatchNormalization()(inputs)
    x = keras.layers.Dense(3)(x)
    model = keras.Model(inputs, keras.layers.BatchNormalization()(x))
    record = np.random.default_rng(2).normal(3.0, 2.0, size=(200, 12, 2)).astype(np.float32)
    adapt_batch_norm(model, record, layers=1)
    first, second = batch_norm_layers(model)
    np.testing.assert_allclose(np.asarray(first.moving_mean), record.mean(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(second.moving_variance), 1.0)  # as built
    adapt_batch_norm(model, record)
    assert np.abs(np.asarray(second.moving_variance) - 1.0).max() > 1e-2
