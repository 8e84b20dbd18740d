"""The expression basis: deterministic, and what it loses is stated and small."""

from __future__ import annotations

import numpy as np

from emodirector.fit.expression import speech_features
from emodirector.manipulate.learned.params import N_COMPONENTS, ExpressionParams

#: The packaged basis loses at most this share of the RMS expression it was fitted on
#: (measured: 0.00198 of 0.04414, 4.5%, over 2874 MEAD and talking-clip frames).
MAX_RELATIVE_ERROR = 0.06


def test_packaged_basis_states_a_small_reconstruction_error() -> None:
    p = ExpressionParams.load_default()
    assert p.size == N_COMPONENTS
    assert 0 < p.rms_error < MAX_RELATIVE_ERROR * p.rms_signal


def test_fit_is_deterministic_and_reconstructs_what_lies_in_its_span() -> None:
    rng = np.random.default_rng(0)
    modes = rng.normal(size=(8, 478, 3))
    offsets = np.einsum("nk,kij->nij", rng.normal(size=(200, 8)), modes) * 0.01
    a, b = ExpressionParams.fit(offsets, 8), ExpressionParams.fit(offsets.copy(), 8)
    np.testing.assert_array_equal(a.components, b.components)
    assert a.rms_error < 1e-6
    back = a.decode(a.encode(offsets))
    np.testing.assert_allclose(back, offsets, atol=1e-5)


def test_speech_features_are_appended_and_linear() -> None:
    p = ExpressionParams.load_default()
    rng = np.random.default_rng(1)
    shape = p.decode(rng.normal(size=(3, p.size)).astype(np.float32))
    enc = p.encode(shape)
    np.testing.assert_allclose(enc[:, p.size :], speech_features(shape), atol=1e-5)
    w, b = p.aperture_weights()
    np.testing.assert_allclose(enc[:, : p.size] @ w + b, speech_features(shape)[:, 1], atol=1e-5)
