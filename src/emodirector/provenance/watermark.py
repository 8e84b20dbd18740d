"""An invisible spread-spectrum watermark in the luminance, found by correlation over many frames.

Why not a library: ``invisible-watermark`` (DWT-DCT-SVD) loses a quarter of its 32 bits to an
H.264 CRF 28 re-encode at its default strength, the same bits on every frame, needs about 36 dB
PSNR to survive and costs ~150 ms per frame; the learned marks (TrustMark, VideoSeal) download
their models at first use. This is the classic video method instead (Hartung and Girod,
"Watermarking of uncompressed and compressed video", Signal Processing 1998), kept small:

* Patterns: key-seeded pseudo-random +/-1 cells on a grid of about :data:`GRID_CELLS` square
  cells, rows and columns following the picture's aspect (:func:`grid_shape`). The grid is
  defined relative to the picture, so a downscaled copy (same aspect) still lines up once the
  detector resizes its luminance to the grid. Cells of ``sqrt(W * H / GRID_CELLS)`` pixels (7.5
  at 720p) put the mark at low-to-mid spatial frequencies, which a lossy encoder keeps.
* Mark: one sync pattern (always +1) plus one pattern per payload bit, signed by the bit, the
  sync carrying 60 % of the energy (:data:`SYNC_SHARE`). It is upsampled to the frame once
  per video, shaped by a perceptual mask (more in textured areas, less in flat and dark ones,
  less over the face) and rounded to integers: each frame then costs one saturating add and one
  saturating subtract.
* Payload (:class:`Payload`): 8 bits of format version, a 32-bit edit id (the manifest carries the
  same id) and an 8-bit CRC. The tool itself is identified by the key (the sync pattern).
* Detection: each frame's luminance is resized to the grid, high-passed (the cell minus the mean
  of its four neighbours) and divided by its local power, so that the picture, which is much
  the same from frame to frame, adds little; the residues are summed over frames and correlated
  with every pattern. The noise level is measured on the same sum with :data:`N_DECOYS` patterns
  of other seeds (an empirical null, per video): the sync correlation over that level is
  ``z``, which without a mark follows Student's t with ``N_DECOYS`` degrees of freedom. ``found``
  when ``z >= Z_THRESHOLD`` (one-sided false-positive rate :func:`false_positive_rate`). Each
  payload bit is the sign of its correlation, checked by the CRC.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

#: Cells of the pattern grid (square cells; rows and columns follow the picture's aspect).
GRID_CELLS = 96 * 96
#: The tool's key: seeds every pattern ("emodirec" in ASCII).
KEY = 0x656D6F6469726563
#: Payload format version written into the mark.
FORMAT_VERSION = 1
#: Payload bits: version (8), edit id (32), CRC-8 (8).
PAYLOAD_BITS = 48
#: Share of the mark's energy carried by the sync pattern; the bits share the rest equally.
SYNC_SHARE = 0.6
#: RMS of the mark in luminance code values (8 bit), before the perceptual mask's reshaping.
DEFAULT_STRENGTH = 1.55
#: Patterns of other seeds whose correlations measure the noise level (the empirical null).
N_DECOYS = 256
#: ``z`` at which the mark counts as found.
Z_THRESHOLD = 4.5
#: Of the 40 edit-id and CRC bits, how many must read as an expected payload predicts for the
#: mark to be said to carry it when its CRC fails (a weak mark): another (random) id agrees on
#: 20 +/- 3, so reaching 32 by chance has probability 1e-4 (binomial).
MATCH_BITS = 32
#: Seed offset of the decoy patterns.
_DECOY_SEED = 1_000_000
#: Seed offset of the patterns of an empirical null (``Detector.null_z``).
_NULL_SEED = 2_000_000
#: Gain of the mark over the face (``Embedder.for_frame(calm=...)``).
CALM_GAIN = 0.3
#: Local-activity floor and ceiling of the perceptual mask, relative to the frame's median.
_MASK_RANGE = (0.5, 1.6)


def grid_shape(width: int, height: int) -> tuple[int, int]:
    """``(rows, cols)`` of the pattern grid for a ``width`` x ``height`` picture.

    About ``GRID_CELLS`` square cells whatever the aspect; the same for any scale of the picture.

    >>> grid_shape(1280, 720), grid_shape(640, 360), grid_shape(1080, 1920)
    ((72, 128), (72, 128), (128, 72))
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"bad frame size {width}x{height}")
    aspect = width / height
    rows = max(1, round(math.sqrt(GRID_CELLS / aspect)))
    return rows, max(1, round(math.sqrt(GRID_CELLS * aspect)))


def crc8(bits: np.ndarray) -> int:
    """CRC-8 (polynomial 0x07, initial value 0) of a bit sequence, most significant bit first.

    >>> hex(crc8(np.unpackbits(np.frombuffer(b"123456789", np.uint8))))  # the standard check
    '0xf4'
    """
    crc = 0
    for bit in bits.astype(np.uint8):
        top = ((crc >> 7) & 1) ^ int(bit)
        crc = (crc << 1) & 0xFF
        if top:
            crc ^= 0x07
    return crc


def _to_bits(value: int, n: int) -> np.ndarray:
    return np.array([(value >> (n - 1 - i)) & 1 for i in range(n)], np.uint8)


def _from_bits(bits: np.ndarray) -> int:
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


@dataclass(frozen=True)
class Payload:
    """What the watermark carries.

    Attributes:
        edit_id: 32-bit id of the edit, also written into the C2PA manifest (as 8 hex digits).
        version: Format version of the mark.
    """

    edit_id: int
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if not 0 <= self.edit_id < 2**32:
            raise ValueError(f"edit id must fit 32 bits, got {self.edit_id}")
        if not 0 <= self.version < 256:
            raise ValueError(f"version must fit 8 bits, got {self.version}")

    @classmethod
    def new(cls) -> Payload:
        """A payload with a fresh random edit id."""
        return cls(edit_id=secrets.randbits(32))

    @property
    def edit_id_hex(self) -> str:
        """The edit id as 8 lowercase hex digits (as the manifest records it)."""
        return f"{self.edit_id:08x}"

    def to_bits(self) -> np.ndarray:
        """``(PAYLOAD_BITS,) uint8`` version, edit id and CRC-8 of both, MSB first."""
        data = np.concatenate([_to_bits(self.version, 8), _to_bits(self.edit_id, 32)])
        return np.concatenate([data, _to_bits(crc8(data), 8)])

    @classmethod
    def from_bits(cls, bits: np.ndarray) -> Payload | None:
        """The payload in ``(PAYLOAD_BITS,)`` bits, or None if the CRC does not match."""
        bits = np.asarray(bits, np.uint8)
        if bits.shape != (PAYLOAD_BITS,):
            raise ValueError(f"expected {PAYLOAD_BITS} bits, got shape {bits.shape}")
        if crc8(bits[:40]) != _from_bits(bits[40:]):
            return None
        return cls(edit_id=_from_bits(bits[8:40]), version=_from_bits(bits[:8]))


def patterns(shape: tuple[int, int], first: int, count: int) -> np.ndarray:
    """``(count, rows, cols) float32`` +/-1 patterns ``first .. first + count - 1`` of the key.

    Pattern 0 is the sync, 1..PAYLOAD_BITS the bits; decoys start at ``_DECOY_SEED``.
    """
    rows, cols = shape
    out = np.empty((count, rows, cols), np.float32)
    for i in range(count):
        rng = np.random.default_rng([KEY & 0xFFFFFFFF, KEY >> 32, first + i, rows, cols])
        out[i] = rng.integers(0, 2, size=(rows, cols), dtype=np.int8) * 2 - 1
    return out


def mark_grid(payload: Payload, shape: tuple[int, int]) -> np.ndarray:
    """``(rows, cols) float32`` the mark on the grid, unit RMS: sync plus signed bit patterns."""
    p = patterns(shape, 0, 1 + PAYLOAD_BITS)
    signs = payload.to_bits().astype(np.float32) * 2 - 1
    sync = math.sqrt(SYNC_SHARE)
    bit = math.sqrt((1 - SYNC_SHARE) / PAYLOAD_BITS)
    grid = sync * p[0] + bit * np.tensordot(signs, p[1:], axes=1)
    return (grid / np.sqrt(np.mean(grid**2))).astype(np.float32)


def perceptual_mask(luma: np.ndarray) -> np.ndarray:
    """``(H, W) float32`` how much mark each pixel of ``luma`` hides, mean square 1.

    Local contrast (standard deviation over about a grid cell), relative to the frame's
    median, clipped to ``_MASK_RANGE``, lowered in the dark (below code 48) and near white
    (above 235), where a change shows more or would clip.
    """
    y = luma.astype(np.float32)
    h = y.shape[0]
    k = max(3, int(round(h / grid_shape(y.shape[1], h)[0])) * 2 + 1)
    mean = cv2.blur(y, (k, k))
    sd = np.sqrt(np.maximum(cv2.blur(y * y, (k, k)) - mean * mean, 0.0))
    sd = cv2.blur(sd, (k, k))
    ref = max(float(np.median(sd)), 1.0)
    mask = np.clip(sd / ref, *_MASK_RANGE)
    mask *= np.clip((mean - 16.0) / 32.0, 0.3, 1.0)
    mask *= np.clip((250.0 - mean) / 15.0, 0.3, 1.0)
    return (mask / np.sqrt(np.mean(mask**2))).astype(np.float32)


@dataclass(frozen=True)
class Embedder:
    """The mark of one video, precomputed at its frame size; adds it to each frame's luminance.

    Attributes:
        payload: What the mark carries.
        plus: ``(H, W) uint8`` the positive part of the rounded mark.
        minus: ``(H, W) uint8`` the negative part (magnitude).
    """

    payload: Payload
    plus: np.ndarray
    minus: np.ndarray

    @classmethod
    def for_frame(
        cls,
        payload: Payload,
        luma: np.ndarray,
        strength: float = DEFAULT_STRENGTH,
        calm: tuple[int, int, int, int] | None = None,
    ) -> Embedder:
        """Build the mark for a video whose first frame has luminance ``luma`` ``(H, W) uint8``.

        The mask is taken from this frame and kept for the whole video (the mark is static).

        Args:
            payload: What the mark carries.
            luma: The first frame's luminance.
            strength: RMS of the mark (code values).
            calm: ``(x0, y0, x1, y1)`` pixels where the mark is lowered to ``CALM_GAIN`` (the
                face: where viewers look, and where a landmark detector reading the lips
                should see as little of it as possible); the rest carries more, at the same
                total RMS.
        """
        h, w = luma.shape
        grid = mark_grid(payload, grid_shape(w, h))
        full = cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR)
        mask = perceptual_mask(luma)
        if calm is not None:
            mask = _calmed(mask, calm)
        full = full / np.sqrt(np.mean(full**2)) * mask * strength
        q = np.rint(full).astype(np.int16)
        return cls(
            payload=payload,
            plus=np.clip(q, 0, 255).astype(np.uint8),
            minus=np.clip(-q, 0, 255).astype(np.uint8),
        )

    def apply(self, frame: np.ndarray, inplace: bool = False) -> np.ndarray:
        """A yuv420p frame ``(H * 3 // 2, W) uint8`` with the mark added to its luminance.

        Returns a new array (chroma copied as it is), or with ``inplace`` ``frame`` itself,
        changed (saves a copy of the frame).
        """
        h = self.plus.shape[0]
        out = frame if inplace else frame.copy()
        y = out[:h]
        cv2.add(y, self.plus, dst=y)
        cv2.subtract(y, self.minus, dst=y)
        return out


def _calmed(mask: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``mask`` lowered to ``CALM_GAIN`` inside ``box`` (soft edges), mean square 1 again."""
    h, w = mask.shape
    x0, y0, x1, y1 = (int(v) for v in box)
    gain = np.ones((h, w), np.float32)
    gain[max(0, y0) : max(0, min(h, y1)), max(0, x0) : max(0, min(w, x1))] = CALM_GAIN
    k = max(3, (min(h, w) // 24) * 2 + 1)
    out = mask * cv2.blur(gain, (k, k))
    return (out / np.sqrt(np.mean(out**2))).astype(np.float32)


def residue(luma: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``(rows, cols) float32``: ``luma`` on the grid, high-passed, weighted by local contrast.

    Each cell's residue is divided by the local residue power (plus one code value squared),
    as a Wiener filter weighs an observation by its noise: busy areas, where the picture itself
    dominates the residue, count little.
    """
    rows, cols = shape
    g = cv2.resize(luma.astype(np.float32), (cols, rows), interpolation=cv2.INTER_AREA)
    r = _highpass(g)
    return r / (cv2.blur(r * r, (5, 5), borderType=cv2.BORDER_REFLECT) + 1.0)


#: Each cell predicted by the mean of its four neighbours (the mark's cells are independent).
_NEIGHBOURS = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32) / 4


def _highpass(g: np.ndarray) -> np.ndarray:
    """``g`` minus the mean of each cell's four neighbours (on the last two axes)."""
    if g.ndim == 3:
        return np.stack([_highpass(x) for x in g])
    return g - cv2.filter2D(g, -1, _NEIGHBOURS, borderType=cv2.BORDER_REFLECT)


@dataclass(frozen=True)
class Detection:
    """What the detector read from a video.

    Attributes:
        found: The sync correlation is at least ``Z_THRESHOLD`` times the decoys' level.
        z: Sync correlation over the decoys' RMS correlation.
        false_positive_rate: Probability that an unmarked video reaches this ``z`` (Student's
            t with ``N_DECOYS`` degrees of freedom, one-sided).
        payload: The decoded payload; None if not found or if its CRC does not match (too
            weak a mark, after heavy re-encoding, to read all bits).
        bit_margin: Smallest ``|correlation| / decoy RMS`` among the payload bits (how clearly
            the weakest bit was read).
        expected_bits: With an expected payload (``result(expected=...)``): how many of the
            40 edit-id and CRC bits read as that payload predicts (a mark carrying another,
            random id agrees on about 20, see ``MATCH_BITS``); -1 without one.
        frames: Frames the correlation was accumulated over.
    """

    found: bool
    z: float
    false_positive_rate: float
    payload: Payload | None
    bit_margin: float
    expected_bits: int
    frames: int

    @classmethod
    def empty(cls) -> Detection:
        """Nothing read (no frame)."""
        return cls(False, 0.0, 1.0, None, 0.0, -1, 0)


@dataclass
class Detector:
    """Accumulates frames of one video (``add``) and decides (``result``).

    Args:
        width, height: The frame size (any scale of the marked video's, same aspect).

    Example:
        >>> d = Detector(64, 48)
        >>> d.add(np.full((48, 64), 128, np.uint8))
        >>> d.result().found
        False
    """

    width: int
    height: int
    shape: tuple[int, int] = field(init=False)
    _sum: np.ndarray = field(init=False, repr=False)
    _frames: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.shape = grid_shape(self.width, self.height)
        self._sum = np.zeros(self.shape, np.float64)

    @property
    def frames(self) -> int:
        """Frames added so far."""
        return self._frames

    def add(self, luma: np.ndarray) -> None:
        """Add one frame's ``(height, width) uint8`` luminance."""
        self._sum += residue(luma, self.shape)
        self._frames += 1

    def result(self, expected: Payload | None = None) -> Detection:
        """The decision over the frames added so far.

        Args:
            expected: A payload to test for (the edit id a manifest records), giving
                ``expected_bits``.
        """
        if self._frames == 0:
            return Detection.empty()
        r = self._sum.astype(np.float32).ravel()
        n = 1 + PAYLOAD_BITS
        marks = _highpass(patterns(self.shape, 0, n)).reshape(n, -1)
        decoys = _highpass(patterns(self.shape, _DECOY_SEED, N_DECOYS)).reshape(N_DECOYS, -1)
        noise = float(np.sqrt(np.mean((decoys @ r) ** 2)))
        if not noise > 0:
            return Detection(False, 0.0, 1.0, None, 0.0, -1, self._frames)
        c = (marks @ r) / noise
        z = float(c[0])
        found = z >= Z_THRESHOLD
        bits = c[1:]
        payload = Payload.from_bits((bits > 0).astype(np.uint8)) if found else None
        expected_bits = -1
        if expected is not None:  # the version bits are every mark's: only id and CRC count
            read = (bits > 0).astype(np.uint8)
            expected_bits = int((read[8:] == expected.to_bits()[8:]).sum())
        return Detection(
            found=found,
            z=z,
            false_positive_rate=false_positive_rate(z),
            payload=payload,
            bit_margin=float(np.abs(bits).min()),
            expected_bits=expected_bits,
            frames=self._frames,
        )

    def null_z(self, count: int = 64) -> np.ndarray:
        """``(count,)`` the ``z`` that ``count`` other keys' sync patterns reach on these frames.

        An empirical null for this video: none of those patterns was ever embedded, so the
        share of them at or above ``Z_THRESHOLD`` measures the false-positive rate.
        """
        if self._frames == 0:
            return np.zeros(0)
        r = self._sum.astype(np.float32).ravel()
        decoys = _highpass(patterns(self.shape, _DECOY_SEED, N_DECOYS)).reshape(N_DECOYS, -1)
        noise = float(np.sqrt(np.mean((decoys @ r) ** 2)))
        others = _highpass(patterns(self.shape, _NULL_SEED, count)).reshape(count, -1)
        return (others @ r) / noise if noise > 0 else np.zeros(count)


def false_positive_rate(z: float, dof: int = N_DECOYS) -> float:
    """One-sided tail of Student's t with ``dof`` degrees of freedom beyond ``z``.

    >>> round(false_positive_rate(0.0), 3)
    0.5
    """
    from scipy.stats import t

    return float(t.sf(z, dof))


def detect(lumas: Iterable[np.ndarray], expected: Payload | None = None) -> Detection:
    """Run the detector over ``(H, W) uint8`` luminance frames of one video."""
    detector: Detector | None = None
    for luma in lumas:
        if detector is None:
            detector = Detector(luma.shape[1], luma.shape[0])
        detector.add(luma)
    return detector.result(expected) if detector is not None else Detection.empty()
