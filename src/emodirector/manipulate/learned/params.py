"""Expression parameters: a linear basis of canonical expression, the learned editor's currency.

Our counterpart of the 3D expression coefficients NED's manipulator works on: an expression (a
canonical face less the actor's resting face, ``(478, 3)``) is encoded as the coefficients of its
``K`` principal components (fitted on MEAD and talking clips; deterministic: an SVD with signs
fixed), followed by the named speech features (``fit.speech_features``: jaw opening, lip
aperture, rounding), which are linear in the shape and are what the speech term reads. Decoding
uses the components only; what the components miss is the reconstruction error, stated in the
file (``rms_error``, canonical units, on the frames they were fitted on) and tested.

This module needs only NumPy; the torch model is in ``model.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from emodirector.datafiles import read_npz
from emodirector.face_model import N_LANDMARKS
from emodirector.files import replacing
from emodirector.fit.expression import SpeechFeature, speech_features

#: Default number of principal components.
N_COMPONENTS = 50
#: Name of the packaged basis file in ``emodirector/data``.
PACKAGED_NAME = "expression_params.npz"
_FEATURES = N_LANDMARKS * 3


@dataclass(frozen=True)
class ExpressionParams:
    """A linear encoding of canonical expression offsets.

    Attributes:
        mean: ``(478 * 3,) float32`` mean expression offset.
        components: ``(K, 478 * 3) float32`` orthonormal principal components.
        scale: ``(K,) float32`` standard deviation of each coefficient on the fitting frames
            (the model works on coefficients divided by it).
        speech: ``(3, 478 * 3) float32`` the speech features as linear functionals of a shape,
            in ``SpeechFeature`` order.
        rms_error: RMS per-coordinate reconstruction error on the fitting frames (canonical
            units), and ``rms_signal`` the RMS of the offsets themselves.
    """

    mean: np.ndarray
    components: np.ndarray
    scale: np.ndarray
    speech: np.ndarray
    rms_error: float
    rms_signal: float

    def __post_init__(self) -> None:
        k = self.components.shape[0]
        if self.mean.shape != (_FEATURES,) or self.components.shape != (k, _FEATURES):
            raise ValueError(f"mean must be ({_FEATURES},), components (K, {_FEATURES})")
        if self.scale.shape != (k,) or self.speech.shape != (len(SpeechFeature), _FEATURES):
            raise ValueError("scale must be (K,), speech (3, 1434)")

    @property
    def size(self) -> int:
        """Number of components ``K``."""
        return int(self.components.shape[0])

    @classmethod
    def fit(cls, offsets: np.ndarray, n_components: int = N_COMPONENTS) -> ExpressionParams:
        """Principal components of ``(N, 478, 3)`` expression offsets (NaN rows skipped).

        The sign of each component is fixed (its largest coordinate positive), so that the same
        frames give the same basis.
        """
        x = np.asarray(offsets, np.float64).reshape(len(offsets), -1)
        x = x[~np.isnan(x).any(axis=1)]
        if len(x) <= n_components:
            raise ValueError(f"need more than {n_components} frames, got {len(x)}")
        mean = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
        vt = vt[:n_components]
        signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
        vt *= signs[:, None]
        coef = (x - mean) @ vt.T
        residual = (x - mean) - coef @ vt
        eye = np.eye(_FEATURES).reshape(_FEATURES, N_LANDMARKS, 3)
        speech = speech_features(eye).T  # (3, F): feature f of a shape is speech[f] @ shape
        return cls(
            mean=mean.astype(np.float32),
            components=vt.astype(np.float32),
            scale=np.maximum(coef.std(axis=0), 1e-9).astype(np.float32),
            speech=speech.astype(np.float32),
            rms_error=float(np.sqrt((residual**2).mean())),
            rms_signal=float(np.sqrt((x**2).mean())),
        )

    def encode(self, offsets: np.ndarray) -> np.ndarray:
        """``(..., K + 3)``: normalised coefficients of ``(..., 478, 3)`` offsets, then their
        speech features."""
        x = np.asarray(offsets, np.float32).reshape(*offsets.shape[:-2], _FEATURES)
        coef = ((x - self.mean) @ self.components.T) / self.scale
        return np.concatenate([coef, x @ self.speech.T], axis=-1).astype(np.float32)

    def decode(self, coef: np.ndarray) -> np.ndarray:
        """``(..., 478, 3)`` offsets of ``(..., K)`` normalised coefficients (speech features,
        if appended, are ignored)."""
        c = np.asarray(coef, np.float32)[..., : self.size] * self.scale
        return (self.mean + c @ self.components).reshape(*c.shape[:-1], N_LANDMARKS, 3)

    def modes(self) -> np.ndarray:
        """``(K, 478, 3)`` the offset of one unit of each normalised coefficient."""
        return (self.components * self.scale[:, None]).reshape(self.size, N_LANDMARKS, 3)

    def aperture_weights(self) -> tuple[np.ndarray, float]:
        """``(w, b)``: the lip aperture of decoded coefficients ``c`` is ``c @ w + b``."""
        k = list(SpeechFeature).index(SpeechFeature.LIP_APERTURE)
        return (self.modes().reshape(self.size, -1) @ self.speech[k]), float(
            self.mean @ self.speech[k]
        )

    def save(self, path: Path) -> None:
        with replacing(Path(path)) as tmp, tmp.open("wb") as f:
            np.savez_compressed(
                f, mean=self.mean, components=self.components, scale=self.scale,
                speech=self.speech, rms_error=self.rms_error, rms_signal=self.rms_signal,
            )  # fmt: skip

    @classmethod
    def _from_arrays(cls, z: np.lib.npyio.NpzFile) -> ExpressionParams:
        return cls(
            mean=z["mean"], components=z["components"], scale=z["scale"], speech=z["speech"],
            rms_error=float(z["rms_error"]), rms_signal=float(z["rms_signal"]),
        )  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> ExpressionParams:
        """Read a basis written by ``save``.

        Raises:
            InputNotFoundError, InvalidOptionError: No such file, or not a basis.
        """
        return read_npz(path, "expression basis", "an expression basis file", cls._from_arrays)

    @classmethod
    def load_default(cls) -> ExpressionParams:
        """The packaged basis (``emodirector/data/expression_params.npz``)."""
        ref = resources.files("emodirector.data").joinpath(PACKAGED_NAME)
        with ref.open("rb") as f, np.load(f) as z:
            return cls._from_arrays(z)


__all__ = ["N_COMPONENTS", "PACKAGED_NAME", "ExpressionParams"]
