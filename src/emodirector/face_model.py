"""The canonical face and named groups of MediaPipe face-mesh landmarks.

Every landmark index used anywhere in emodirector is named here; no other module writes a bare
landmark number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import scipy.sparse as sp

N_LANDMARKS = 478  # 468 mesh points + 2 x 5 iris points (refined landmarks)
N_MESH = 468

# Contours, in order around each shape. "Right" and "left" are the subject's.
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIP_CORNERS = (61, 291, 78, 308)
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (263, 362)
RIGHT_BROW = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)
LEFT_BROW = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
RIGHT_IRIS = (468, 469, 470, 471, 472)  # centre first
LEFT_IRIS = (473, 474, 475, 476, 477)
CHIN = 152
#: The nose's lowest point, above the upper lip (subnasale).
SUBNASALE = 2
UPPER_LIP_MID = 13
LOWER_LIP_MID = 14

#: Points that move little with expression or speech: nose bridge and tip, the sides of the face
#: by the ears, and the eye corners. The rigid head pose is fitted to these. The forehead is left
#: out: raising the brows drags its skin (and MediaPipe's forehead points) up.
STABLE = (
    168, 6, 197, 195, 5, 4, 1, 19, 94, 2,
    127, 356, 234, 454, 162, 389, 33, 133, 362, 263, 245, 465, 122, 351,
)  # fmt: skip

#: Where the expression detail (wrinkles, folds, shading) of each facial region lies: a few
#: landmarks per region; every point of the face belongs to the region of its nearest landmark.
DETAIL_REGIONS = {
    "forehead": (10, 151, 109, 338, 67, 297, 108, 337, 69, 299, 104, 333, 103, 332),
    "glabella": (9, 8, 107, 336, 55, 285, 193, 417),
    "nose": (168, 6, 197, 195, 5, 4, 45, 275, 220, 440),
    "eye_corners": (130, 226, 35, 143, 113, 359, 446, 265, 372, 342),
    "cheeks": (50, 280, 117, 346, 118, 347, 101, 330, 205, 425),
    "nasolabial": (129, 358, 203, 423, 206, 426, 216, 436, 92, 322),
    "chin": (152, 175, 199, 200, 18, 32, 262, 208, 428),
}

#: Regions of the face whose strength the emotion prototypes calibrate separately.
GEOMETRY_REGIONS = {
    "brows": RIGHT_BROW + LEFT_BROW,
    "lids": RIGHT_EYE_UPPER + RIGHT_EYE_LOWER + LEFT_EYE_UPPER + LEFT_EYE_LOWER,
    "cheeks": DETAIL_REGIONS["cheeks"],
    "mouth": LIPS_OUTER_UPPER + LIPS_OUTER_LOWER,
    "chin": DETAIL_REGIONS["chin"],
}

#: Upper/lower lip pairs whose vertical gap is the lip aperture (the speech constraint).
LIP_PAIRS = tuple(zip(LIPS_INNER_UPPER[1:-1], LIPS_INNER_LOWER[1:-1], strict=True)) + tuple(
    zip(LIPS_OUTER_UPPER[1:-1], LIPS_OUTER_LOWER[1:-1], strict=True)
)
#: Upper/lower eyelid pairs (without the corners) whose gap is the eye opening.
RIGHT_LID_PAIRS = tuple(zip(RIGHT_EYE_UPPER[1:-1], RIGHT_EYE_LOWER[1:-1], strict=True))
LEFT_LID_PAIRS = tuple(zip(LEFT_EYE_UPPER[1:-1], LEFT_EYE_LOWER[1:-1], strict=True))


@dataclass(frozen=True)
class FaceModel:
    """The canonical face every fit is expressed in.

    Attributes:
        template: ``(478, 3) float32`` mean neutral face in image orientation (x right, y down,
            z away from the camera), centred, scaled to unit RMS radius of the 468 mesh points.
        triangles: ``(898, 3) int32`` triangles of the 468-point mesh (eyes and mouth are holes).
    """

    template: np.ndarray
    triangles: np.ndarray

    def __post_init__(self) -> None:
        if self.template.shape != (N_LANDMARKS, 3):
            raise ValueError(f"template must be (478, 3), got {self.template.shape}")
        if self.triangles.ndim != 2 or self.triangles.shape[1] != 3:
            raise ValueError(f"triangles must be (N, 3), got {self.triangles.shape}")


@cache
def load_face_model() -> FaceModel:
    """The face model shipped with the package (built by ``scripts/build_face_model.py``)."""
    with resources.files("emodirector.data").joinpath("face_model.npz").open("rb") as f:
        data = np.load(f)
        return FaceModel(template=data["template"], triangles=data["triangles"])


@cache
def mesh_smoother() -> sp.csr_matrix:
    """Row-normalised ``(478, 478)`` matrix averaging each mesh point with its neighbours.

    Each point keeps weight 2 against 1 for each neighbour along the model's triangles; the
    iris points, in no triangle, are left as they are.
    """
    tri = load_face_model().triangles
    rows = np.concatenate([tri[:, 0], tri[:, 1], tri[:, 2], tri[:, 1], tri[:, 2], tri[:, 0]])
    cols = np.concatenate([tri[:, 1], tri[:, 2], tri[:, 0], tri[:, 0], tri[:, 1], tri[:, 2]])
    adj = sp.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(N_LANDMARKS, N_LANDMARKS))
    adj = (adj.tocsr() > 0).astype(np.float64) + sp.identity(N_LANDMARKS) * 2.0
    deg = np.asarray(adj.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(1.0 / deg) @ adj)


def region_indices(*groups: tuple[int, ...]) -> np.ndarray:
    """Sorted unique landmark indices of the given groups.

    >>> region_indices((3, 1), (1, 2)).tolist()
    [1, 2, 3]
    """
    return np.unique(np.concatenate([np.asarray(g, dtype=np.int64) for g in groups]))
