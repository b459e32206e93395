"""The detector's kernels have a lead-by-lead and a row-by-row layout, chosen by the number of
leads (each module's ``LEAD_BY_LEAD_UP_TO``): both must give the same numbers, bit for bit,
whatever the lead count, so that the choice is one of speed only."""

from __future__ import annotations

import numpy as np
import pytest

from ecgtk.kernels import filters, qrs_feature, quality
from ecgtk.kernels.leads import block_stats_step


@pytest.fixture(params=[1, 2, 3, 5, 8, 12])
def chunk(request):
    """``(signal, unusable)``: an ECG-like chunk with NaN, flat and infinite stretches."""
    n_leads = request.param
    rng = np.random.default_rng(n_leads)
    t = np.arange(9000) / 360.0
    x = (np.exp(-((t % 0.8) - 0.4) ** 2 / 0.0005)[:, None] * rng.uniform(0.5, 2.0, n_leads)
         + 0.05 * rng.standard_normal((len(t), n_leads))).astype(np.float32)
    x[1000:1400, 0] = np.nan
    x[3000:3600, -1] = 0.3  # flat: unusable
    x[5000, n_leads // 2] = np.inf
    x[7000:7003, :] = np.nan
    return x, quality.unusable_mask(x, 360.0)


def test_unusable_mask_layouts_agree(chunk):
    x, _ = chunk
    by_lead = quality._unusable_lead_by_lead(x, 180, 0.01)  # mask, block lows and highs
    for lead, row in zip(by_lead, quality._unusable_row_by_row(x, 180, 0.01), strict=True):
        np.testing.assert_array_equal(lead, row)
    mask, block_lo, block_hi = by_lead
    assert mask[3060:3540, -1].all() and mask[1000:1400, 0].all()
    np.testing.assert_array_equal(block_lo[5], np.nanmin(x[900:1080], axis=0))
    assert block_hi[5000 // 180, x.shape[1] // 2] == np.inf


def test_band_pass_layouts_agree(chunk):
    x, unusable = chunk
    sos = np.ascontiguousarray(filters.bandpass_sos(3.0, 20.0, 360.0))
    zi, pad = filters.sos_initial_state(sos), filters.default_padlen(sos)
    by_lead = np.empty((len(x) + 2 * pad, x.shape[1]))
    for lead in range(x.shape[1]):
        filters._two_section_forward_zeroed(sos, x, unusable, lead, zi, pad, by_lead)
        filters._two_section_pass(sos, by_lead, lead, zi, -1)
    by_row = np.empty_like(by_lead)
    filters._two_section_rows_zeroed(sos, x, unusable, zi, pad, by_row)
    np.testing.assert_array_equal(by_lead, by_row)
    buffered = np.empty_like(by_lead)  # many leads: the rows through a vectorised buffer
    filters._two_section_rows_buffered(sos, x, unusable, zi, pad, buffered)
    np.testing.assert_array_equal(by_lead, buffered)


@pytest.mark.parametrize("lead_in", [0, 7])
def test_qrs_feature_layouts_agree(chunk, lead_in):
    x, unusable = chunk
    filtered = np.ascontiguousarray(
        filters.bandpass_zeroed(filters.bandpass_sos(3.0, 20.0, 360.0), x, unusable))
    args = (filtered, unusable, 18, 900, lead_in, block_stats_step(900))
    for a, b in zip(qrs_feature._feature_lead_by_lead(*args),
                    qrs_feature._feature_row_by_row(*args), strict=True):
        np.testing.assert_array_equal(a, b)
