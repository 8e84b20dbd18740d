"""Expression detail: the wrinkles, folds and shading of an expression, as ratio images.

A warp moves skin but cannot create what an expression adds to it: forehead lines when the brows
rise, the frown between lowered brows, deeper folds beside the nose and mouth, raised cheeks.
Following Liu, Shan and Zhang ("Expressive expression mapping with ratio images", SIGGRAPH 2001),
that detail is measured as the ratio of an actor's expressive and neutral luminance, both
unwrapped into the canonical texture layout (``texture.py``) so that the geometry cancels and
only the change of shading is left; a ratio (not a difference) carries the shading without the
skin colour, so it can be multiplied onto any other face. ``calibrate.detail`` measures one
ratio per emotion from labelled footage (the log ratio, averaged over actors, with the slow
lighting differences between takes removed); this module holds them and applies them.

At edit time the log ratios of the edit's modes are mixed with the frame's edit weights,
wrapped onto the edited face through the warp's texture coordinates (so the detail moves with
the face) and multiplied onto the luminance. The renderer mixes only the positive weights: a
negative one (the actor's own emotion or action unit taken away) would divide out lines the
actor need not have where the prototype has them, which showed as light blotches. The eyes and
the lips carry no detail: the eyes are handled by ``eyes.py``, the lips follow the speech. Each
emotion's detail is split into regions
(``face_model.DETAIL_REGIONS``: forehead, between the brows, nose, eye corners, cheeks,
nasolabial folds, chin) with a gain each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

import cv2
import numpy as np

from emodirector.datafiles import read_npz
from emodirector.face_model import (
    DETAIL_REGIONS,
    FACE_OVAL,
    LEFT_BROW,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    RIGHT_BROW,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from emodirector.manipulate.action_units import ACTION_UNIT_DETAIL
from emodirector.render.texture import TEXTURE_SIZE, default_layout
from emodirector.render.warp import WarpField

DETAIL_FILE = "expression_detail.npz"
REGION_NAMES = tuple(DETAIL_REGIONS)
#: What a detail file is, for messages.
_KIND = "an expression detail file made by 'emodirector calibrate --detail FILE'"
#: Largest darkening or brightening factor the detail may apply (log units).
MAX_LOG_RATIO = float(np.log(1.8))
#: Widths (layout pixels) of the margins kept free of detail around the eyes and the lips, and
#: of the fade at the edge of the face.
_EYE_MARGIN = 1.5
_LIP_MARGIN = 2.5
_BROW_MARGIN = 3.0
_EDGE_FADE = 10.0


def _polygon(indices: tuple[int, ...], size: int) -> np.ndarray:
    pts = default_layout(size).vertices[list(indices)]
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], (255,), cv2.LINE_AA, shift=4)
    return mask > 127


def _outside(mask: np.ndarray) -> np.ndarray:
    """Distance (layout pixels) of every pixel from ``mask``."""
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)


@cache
def detail_mask(size: int = TEXTURE_SIZE) -> np.ndarray:
    """``(size, size) float32`` 0..1: where detail may be applied.

    Inside the face oval (fading to 0 at its edge), away from the eye openings, the lips and
    the brows. The brows are moved by the warp; their hair, registered a little differently in
    the expressive and the neutral take, would otherwise leave a light and a dark band.
    """
    face = _polygon(FACE_OVAL, size)
    inside = cv2.distanceTransform(face.astype(np.uint8), cv2.DIST_L2, 5)
    mask = np.clip(inside / _EDGE_FADE, 0.0, 1.0)
    for outline, margin in (
        (RIGHT_EYE_UPPER + RIGHT_EYE_LOWER[::-1], _EYE_MARGIN),
        (LEFT_EYE_UPPER + LEFT_EYE_LOWER[::-1], _EYE_MARGIN),
        (LIPS_OUTER_UPPER + LIPS_OUTER_LOWER[::-1], _LIP_MARGIN),
        (RIGHT_BROW[:5] + RIGHT_BROW[:4:-1], _BROW_MARGIN),
        (LEFT_BROW[:5] + LEFT_BROW[:4:-1], _BROW_MARGIN),
    ):
        hole = _polygon(outline, size)
        mask *= np.clip(_outside(hole) / margin - 0.5, 0.0, 1.0)
    return mask.astype(np.float32)


@cache
def region_masks(size: int = TEXTURE_SIZE) -> np.ndarray:
    """``(R, size, size) float32`` soft region masks (order ``REGION_NAMES``).

    Each layout pixel belongs to the region of its nearest seed landmark; the borders are
    softened, and the masks sum to ``detail_mask``.
    """
    layout = default_layout(size)
    ys, xs = np.mgrid[0:size, 0:size]
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    best = np.full(size * size, np.inf)
    label = np.zeros(size * size, np.int64)
    for r, seeds in enumerate(DETAIL_REGIONS.values()):
        pts = layout.vertices[list(seeds)]
        d = ((grid[:, None, :] - pts[None]) ** 2).sum(axis=2).min(axis=1)
        closer = d < best
        best[closer] = d[closer]
        label[closer] = r
    onehot = np.stack([(label == r).reshape(size, size) for r in range(len(DETAIL_REGIONS))])
    soft = np.stack([cv2.GaussianBlur(m.astype(np.float32), (0, 0), 2.0) for m in onehot])
    soft /= np.maximum(soft.sum(axis=0, keepdims=True), 1e-6)
    return (soft * detail_mask(size)[None]).astype(np.float32)


@dataclass(frozen=True)
class ExpressionDetail:
    """Per-mode expression detail in the canonical texture layout.

    Attributes:
        names: Mode names (emotion values, as in the prototype basis).
        log_ratio: ``(K, S, S) float32`` the log luminance ratio of each mode at weight 1, before
            region gains and masks.
        region_gains: ``(K, R) float32`` gain of each region (``REGION_NAMES``) per mode.
        actors: The actors it was measured on.
    """

    names: tuple[str, ...]
    log_ratio: np.ndarray
    region_gains: np.ndarray
    actors: tuple[str, ...] = ()
    _mode_maps: dict[tuple[str, ...], np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        k = len(self.names)
        if self.log_ratio.ndim != 3 or self.log_ratio.shape[0] != k:
            raise ValueError(f"log_ratio must be ({k}, S, S), got {self.log_ratio.shape}")
        if self.log_ratio.shape[1] != self.log_ratio.shape[2]:
            raise ValueError("log_ratio must be square")
        if self.region_gains.shape != (k, len(REGION_NAMES)):
            raise ValueError(f"region_gains must be ({k}, {len(REGION_NAMES)})")

    @property
    def size(self) -> int:
        return int(self.log_ratio.shape[1])

    @cached_property
    def maps(self) -> np.ndarray:
        """``(K, S, S) float32`` what is applied at weight 1: region-weighted and masked."""
        masks = region_masks(self.size)
        weight = np.einsum("kr,rij->kij", self.region_gains, masks)
        return np.clip(self.log_ratio * weight, -MAX_LOG_RATIO, MAX_LOG_RATIO).astype(np.float32)

    def for_modes(self, names: tuple[str, ...]) -> np.ndarray:
        """``(len(names), S, S)`` maps of the named modes (zero for a mode with no detail).

        A mode is an emotion, or an action unit (``ACTION_UNIT_DETAIL``: part of an emotion's
        map). Computed once per basis: the renderer asks for them on every frame.
        """
        cached = self._mode_maps.get(names)
        if cached is not None:
            return cached
        out = np.zeros((len(names), self.size, self.size), np.float32)
        masks = region_masks(self.size)
        for i, name in enumerate(names):
            if name in self.names:
                out[i] = self.maps[self.names.index(name)]
            elif name in ACTION_UNIT_DETAIL and ACTION_UNIT_DETAIL[name][0].value in self.names:
                emotion, regions = ACTION_UNIT_DETAIL[name]
                k = self.names.index(emotion.value)
                weight = sum(
                    self.region_gains[k, REGION_NAMES.index(r)] * masks[REGION_NAMES.index(r)]
                    for r in regions
                )
                out[i] = np.clip(self.log_ratio[k] * weight, -MAX_LOG_RATIO, MAX_LOG_RATIO)
        out.flags.writeable = False
        self._mode_maps[names] = out
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to an ``.npz`` file (the ratios as float16: they are smooth and small)."""
        np.savez_compressed(
            path,
            names=np.array(self.names),
            log_ratio=self.log_ratio.astype(np.float16),
            region_gains=self.region_gains.astype(np.float32),
            actors=np.array(self.actors),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ExpressionDetail:
        """Read detail written by ``save`` (``emodirector calibrate --detail``).

        Raises:
            InputNotFoundError: No such file.
            InvalidOptionError: Not an expression detail file.
        """
        return read_npz(path, "expression detail", _KIND, cls._from_arrays)

    @classmethod
    def load_default(cls) -> ExpressionDetail:
        """The detail shipped with the package (read once; it is immutable)."""
        return _packaged_detail()

    @classmethod
    def _from_arrays(cls, d: np.lib.npyio.NpzFile) -> ExpressionDetail:
        return cls(
            names=tuple(str(v) for v in d["names"]),
            log_ratio=d["log_ratio"].astype(np.float32),
            region_gains=d["region_gains"].astype(np.float32),
            actors=tuple(str(a) for a in d["actors"]),
        )


def mix_detail(maps: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``(S, S)`` log ratio of a frame: the modes' maps ``(K, S, S)`` mixed by ``weights (K,)``."""
    # einsum, not tensordot: a (K,) x (K, S, S) product is too small for BLAS, whose threads
    # spin against the pipeline's own (13 ms instead of 0.35 ms per frame on a busy machine)
    mixed = np.einsum("k,kij->ij", np.asarray(weights, np.float32), maps)
    return np.clip(mixed, -MAX_LOG_RATIO, MAX_LOG_RATIO).astype(np.float32)


def apply_detail(y: np.ndarray, field: WarpField, log_ratio: np.ndarray) -> np.ndarray:
    """Multiply a layout log ratio onto the luminance of the warped face region.

    Args:
        y: ``(h, w) uint8`` warped luminance of ``field.roi``.
        field: The warp, with texture coordinates (``warp_field(texture_vertices=...)``).
        log_ratio: ``(S, S) float32`` the frame's mixed log ratio (``mix_detail``).

    Returns:
        The new luminance, ``uint8``; identical to ``y`` where the ratio is 0.

    Raises:
        ValueError: The field has no texture coordinates.
    """
    if field.texture is None:
        raise ValueError("the warp field has no texture coordinates")
    # OpenCV samples at 1/32 pixel whatever the map's type: fixed-point maps give the same
    # values, and the remap of a float image is cheaper with them than converting on the fly
    maps = cv2.convertMaps(field.texture, None, cv2.CV_16SC2)
    sampled: np.ndarray = cv2.remap(
        log_ratio, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0.0,)
    ).astype(np.float32, copy=False)
    sampled *= field.mask
    if not sampled.any():
        return y
    # y * exp(ratio), rounded and saturated to uint8 by OpenCV in one pass
    return cv2.multiply(y, cv2.exp(sampled), dtype=cv2.CV_8U)


@cache
def _packaged_detail() -> ExpressionDetail:
    ref = resources.files("emodirector.data").joinpath(DETAIL_FILE)
    with ref.open("rb") as f, np.load(f) as d:
        return ExpressionDetail._from_arrays(d)
