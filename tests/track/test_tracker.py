"""Face tracking with MediaPipe's face mesh (emodirector.track.tracker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emodirector import VideoAnalysis
from emodirector.emotion import Emotion
from emodirector.errors import InvalidOptionError
from emodirector.face_model import (
    LEFT_BROW,
    LEFT_EYE_CORNERS,
    LEFT_IRIS,
    N_LANDMARKS,
    RIGHT_BROW,
    RIGHT_EYE_CORNERS,
    RIGHT_IRIS,
)
from emodirector.track import FaceTrack, FaceTracker, TrackerOptions
from emodirector.track.tracker import _View, box_iou, shrink
from emodirector.video import iter_frames, probe
from emodirector.video.rotation import from_upright, upright
from tests._media import ROTATION, transcode
from tests.conftest import MeadFits

#: The GRID speaker's face is about 120 pixels tall in a 288-pixel frame.
_GRID_FACE_HEIGHT_RANGE = (80.0, 250.0)
#: Landmarks of a rotated copy, mapped back to the coded frame, agree with the upright clip's
#: within this many pixels (the copy is lossless; MediaPipe sees the same upright image).
_ROTATED_XY_TOL_PX = 1.0
#: Depth is a property of the face, not of the container's rotation flag: the rotated copy's z
#: must match the upright clip's within this relative error.
_ROTATED_DEPTH_REL_TOL = 0.05


# --- box_iou ------------------------------------------------------------------------------------


def test_box_iou_identical() -> None:
    a = np.array([10.0, 20.0, 50.0, 80.0])
    assert box_iou(a, a) == pytest.approx(1.0)


def test_box_iou_disjoint() -> None:
    assert box_iou(np.array([0, 0, 10, 10]), np.array([20, 20, 30, 30])) == 0.0


def test_box_iou_touching_edges() -> None:
    assert box_iou(np.array([0, 0, 10, 10]), np.array([10, 0, 20, 10])) == 0.0


def test_box_iou_half_overlap() -> None:
    # intersection 5x10 = 50, union 100 + 100 - 50 = 150
    assert box_iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(1 / 3)


def test_box_iou_contained() -> None:
    assert box_iou(np.array([0, 0, 10, 10]), np.array([2, 2, 7, 7])) == pytest.approx(25 / 100)


def test_box_iou_is_symmetric() -> None:
    a, b = np.array([0.0, 0.0, 7.0, 3.0]), np.array([2.0, 1.0, 9.0, 8.0])
    assert box_iou(a, b) == pytest.approx(box_iou(b, a))


def test_box_iou_degenerate_boxes() -> None:
    z = np.array([5.0, 5.0, 5.0, 5.0])
    assert box_iou(z, z) == 0.0


# --- upright / from_upright ---------------------------------------------------------------------


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_from_upright_inverts_upright_marked_pixel(rotation: int) -> None:
    w, h = 7, 5
    coded = np.zeros((h, w), np.uint8)
    x, y = 5, 1
    coded[y, x] = 255
    shown = upright(coded, rotation)
    assert shown.shape == ((w, h) if rotation % 180 else (h, w))
    uy, ux = np.argwhere(shown == 255)[0]
    # Landmarks are continuous coordinates: the centre of pixel i is at i + 0.5.
    back = from_upright(np.array([[ux + 0.5, uy + 0.5]]), rotation, (w, h))
    np.testing.assert_allclose(back, [[x + 0.5, y + 0.5]])


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_from_upright_maps_every_pixel(rotation: int) -> None:
    w, h = 6, 4
    coded = np.arange(w * h, dtype=np.int32).reshape(h, w)
    shown = upright(coded, rotation)
    uy, ux = np.mgrid[0 : shown.shape[0], 0 : shown.shape[1]]
    centres = np.stack([ux.ravel() + 0.5, uy.ravel() + 0.5], axis=1)
    back = from_upright(centres, rotation, (w, h))
    cx = np.floor(back[:, 0]).astype(int)
    cy = np.floor(back[:, 1]).astype(int)
    np.testing.assert_array_equal(coded[cy, cx], shown.ravel())


def test_from_upright_keeps_extra_columns() -> None:
    pts = np.array([[1.0, 2.0, 7.0]])
    out = from_upright(pts, 180, (10, 20))
    np.testing.assert_allclose(out, [[9.0, 18.0, 7.0]])


# --- TrackerOptions: each misuse ----------------------------------------------------------------


def test_tracker_options_zero_faces() -> None:
    with pytest.raises(InvalidOptionError, match="max_faces"):
        TrackerOptions(max_faces=0)


def test_tracker_options_detection_confidence_above_one() -> None:
    with pytest.raises(InvalidOptionError, match="min_detection_confidence"):
        TrackerOptions(min_detection_confidence=1.5)


def test_tracker_options_tracking_confidence_negative() -> None:
    with pytest.raises(InvalidOptionError, match="min_tracking_confidence"):
        TrackerOptions(min_tracking_confidence=-0.1)


def test_tracker_options_tiny_max_side() -> None:
    with pytest.raises(InvalidOptionError, match="max_side"):
        TrackerOptions(max_side=32)


def test_face_track_rejects_wrong_landmark_count() -> None:
    with pytest.raises(ValueError, match="478"):
        FaceTrack(
            landmarks=np.zeros((2, 468, 3), np.float32),
            present=np.ones(2, bool),
            segment=np.zeros(2, np.int32),
            times=np.zeros(2),
            frame_size=(10, 10),
        )


# --- detection on real frames -------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid_first_frame(grid_clip: Path) -> np.ndarray:
    frames = iter_frames(probe(grid_clip), "rgb24")
    image = next(frames).image
    frames.close()
    return image


def test_detect_image_finds_478_points(grid_first_frame: np.ndarray) -> None:
    with FaceTracker() as tracker:
        faces = tracker.detect_image(grid_first_frame)
    assert len(faces) == 1
    face = faces[0]
    assert face.shape == (N_LANDMARKS, 3)
    assert face.dtype == np.float32
    h, w = grid_first_frame.shape[:2]
    assert (face[:, 0] > 0).all() and (face[:, 0] < w).all()
    assert (face[:, 1] > 0).all() and (face[:, 1] < h).all()
    lo, hi = _GRID_FACE_HEIGHT_RANGE
    assert lo < np.ptp(face[:, 1]) < hi


def test_detect_image_irises_lie_between_eye_corners(grid_first_frame: np.ndarray) -> None:
    with FaceTracker() as tracker:
        face = tracker.detect_image(grid_first_frame)[0]
    for iris, corners in ((RIGHT_IRIS, RIGHT_EYE_CORNERS), (LEFT_IRIS, LEFT_EYE_CORNERS)):
        xs = sorted(face[list(corners), 0])
        assert xs[0] < face[iris[0], 0] < xs[1]


def test_detect_image_without_face_is_empty() -> None:
    grey = np.full((240, 320, 3), 128, np.uint8)
    with FaceTracker() as tracker:
        assert tracker.detect_image(grey) == []


def test_track_video_follows_one_face(grid_analysis: VideoAnalysis) -> None:
    track = grid_analysis.track
    assert track.n_frames == 75
    assert track.present.all()
    assert (track.segment == 0).all()
    assert track.frame_size == (360, 288)
    assert np.isfinite(track.landmarks).all()
    assert (np.diff(track.times) > 0).all()
    lo, hi = _GRID_FACE_HEIGHT_RANGE
    heights = np.ptp(track.landmarks[:, :, 1], axis=1)
    assert ((heights > lo) & (heights < hi)).all()


def test_track_video_reports_progress(grid_clip: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    with FaceTracker(TrackerOptions(max_side=160)) as tracker:
        track = tracker.track_video(probe(grid_clip), lambda *a: calls.append(a))
    assert [c[1] for c in calls] == list(range(1, track.n_frames + 1))
    assert {c[0] for c in calls} == {"track"}


def test_track_video_ignores_faces_below_min_size(grid_clip: Path) -> None:
    with FaceTracker(TrackerOptions(min_face_size=1000.0, max_side=160)) as tracker:
        track = tracker.track_video(probe(grid_clip))
    assert track.n_frames == 75
    assert not track.present.any()
    assert (track.segment == -1).all()
    assert np.isnan(track.landmarks).all()


# --- display-rotated input ----------------------------------------------------------------------


def test_track_rotated_clip_maps_points_to_coded_frame(
    grid_analysis: VideoAnalysis, rotated_grid_analysis: VideoAnalysis
) -> None:
    rot = rotated_grid_analysis
    assert rot.info.rotation == ROTATION
    assert rot.track.frame_size == (288, 360)
    assert rot.track.present.all()
    expected = np.stack(
        [
            from_upright(lm[:, :2], ROTATION, rot.track.frame_size)
            for lm in grid_analysis.track.landmarks
        ]
    )
    err = np.abs(rot.track.landmarks[..., :2] - expected)
    assert err.max() < _ROTATED_XY_TOL_PX


def test_track_rotated_clip_keeps_depth(
    grid_analysis: VideoAnalysis, rotated_grid_analysis: VideoAnalysis
) -> None:
    z0 = grid_analysis.track.landmarks[..., 2].ravel().astype(np.float64)
    z1 = rotated_grid_analysis.track.landmarks[..., 2].ravel().astype(np.float64)
    slope = float(z0 @ z1 / (z0 @ z0))
    assert slope == pytest.approx(1.0, abs=_ROTATED_DEPTH_REL_TOL)


# --- tracking on a crop around the face ---------------------------------------------------------

#: The GRID face pasted on a large canvas, tracked in a crop around it, against the GRID clip
#: tracked on its own whole frames: mean and largest per-frame mean landmark distance (pixels of
#: a face about 120 pixels tall; the canvas copy went through RGB and back).
_CROP_MEAN_TOL_PX = 0.5
_CROP_FRAME_TOL_PX = 1.5


def test_small_face_in_large_frame_is_tracked_in_a_crop(
    grid_clip: Path, grid_analysis: VideoAnalysis, tmp_path: Path
) -> None:
    """MediaPipe is shown a crop around the face (the whole frame only to find it), and finds
    the same landmarks as on the GRID clip's own frames."""
    # (MediaPipe's detector does not find a face this small in a 1280x720 frame)
    offset = np.array([200.0, 120.0])
    big = transcode(grid_clip, tmp_path / "big.mp4", canvas=(640, 480), offset=(200, 120),
                    max_frames=30)  # fmt: skip
    shown: list[tuple[int, ...]] = []
    with FaceTracker(TrackerOptions()) as tracker:
        (track,) = tracker.track_all(probe(big), observer=lambda i, rgb, f: shown.append(rgb.shape))
    assert shown[0] == (480, 640, 3)  # the first frame: the whole frame, to find the face
    assert all(s[0] < 300 and s[1] < 300 for s in shown[1:])  # then a crop around it
    assert track.present.all()
    ref = np.asarray(grid_analysis.track.landmarks[: track.n_frames, :, :2])
    dist = np.linalg.norm(np.asarray(track.landmarks[:, :, :2]) - offset - ref, axis=2)
    assert dist.mean() < _CROP_MEAN_TOL_PX
    assert dist.mean(axis=1).max() < _CROP_FRAME_TOL_PX


#: Frames of the canvas clip on which the face is hidden under grey, then shown again.
_HIDDEN_FRAMES = range(12, 17)


def test_face_hidden_then_shown_is_found_again_in_a_crop(
    grid_clip: Path, grid_analysis: VideoAnalysis, tmp_path: Path
) -> None:
    """A face that leaves is searched on the whole frame and, once found, followed in a crop
    again, with the same landmarks as on the GRID clip's own frames (one MediaPipe graph does
    both: the search and the following)."""
    offset = np.array([200.0, 120.0])

    def hide(i: int, rgb: np.ndarray) -> np.ndarray:
        if i in _HIDDEN_FRAMES:
            rgb = rgb.copy()
            rgb[...] = 128
        return rgb

    big = transcode(grid_clip, tmp_path / "big.mp4", canvas=(640, 480), offset=(200, 120),
                    max_frames=30, edit=hide)  # fmt: skip
    shown: list[tuple[int, ...]] = []
    with FaceTracker(TrackerOptions()) as tracker:
        (track,) = tracker.track_all(probe(big), observer=lambda i, rgb, f: shown.append(rgb.shape))
    hidden = np.isin(np.arange(track.n_frames), list(_HIDDEN_FRAMES))
    np.testing.assert_array_equal(track.present, ~hidden)
    after = max(_HIDDEN_FRAMES) + 1
    assert shown[after] == (480, 640, 3)  # found again on the whole frame ...
    assert all(s[0] < 300 and s[1] < 300 for s in shown[after + 1 :])  # ... then in a crop
    ref = np.asarray(grid_analysis.track.landmarks[: track.n_frames, :, :2])
    dist = np.linalg.norm(np.asarray(track.landmarks[:, :, :2]) - offset - ref, axis=2)
    assert np.nanmean(dist[after:]) < _CROP_MEAN_TOL_PX
    assert np.nanmax(dist[after:].mean(axis=1)) < _CROP_FRAME_TOL_PX


def _square_face(centre: tuple[float, float], side: float) -> np.ndarray:
    """``(478, 3)`` landmark pixels spread over a square face box."""
    t = np.linspace(-side / 2, side / 2, 478)
    return np.stack([centre[0] + t, centre[1] + t[::-1], np.zeros(478)], axis=1)


def test_crop_that_cannot_grow_stays_and_does_not_restart(grid_clip: Path) -> None:
    """A face larger than the crop's size range allows, in a crop already as large as the frame
    lets it be, keeps its crop: MediaPipe is not restarted on every frame (it was, on MEAD's
    256-pixel takes, where the face is 0.67 of the frame)."""
    info = probe(grid_clip)  # 360x288
    view = _View(info, 1.0, whole=False)
    side = 0.7 * info.width  # more than the size range's 0.62 of the crop's longer side
    face = _square_face((180.0, 144.0), side)
    assert view.follow(face) is False  # the first placement: nothing followed yet
    placed = view.crop
    assert placed == view.frame_box  # two faces wide is more than the frame
    for dx in (0.0, 1.5, -2.0, 3.0):
        assert view.follow(_square_face((180.0 + dx, 144.0), side)) is False
        assert view.crop == placed
    # a face that moves out of the margin still has its crop re-placed (and MediaPipe restarted)
    small = _square_face((60.0, 60.0), 40.0)
    assert view.follow(small) is True
    assert view.crop != placed


#: Frame-to-frame motion of the brows (mean over their points, canonical units) of MEAD W009's
#: neutral take, a 256-pixel clip whose face fills 0.67 of the frame: 0.0063 tracked in one
#: piece, 0.0112 when MediaPipe was restarted on every frame.
_MEAD_BROW_JITTER_MAX = 0.008


def test_large_face_in_small_frame_is_followed_steadily(mead_fits: MeadFits) -> None:
    (neutral,) = mead_fits(("W009",), (Emotion.NEUTRAL,))
    d = np.asarray(neutral.fit.canonical, np.float64)[:, list(LEFT_BROW + RIGHT_BROW)]
    d = d[~np.isnan(d).any(axis=(1, 2))]
    assert len(d) > 50
    jitter = float(np.linalg.norm(np.diff(d, axis=0), axis=-1).mean())
    assert jitter < _MEAD_BROW_JITTER_MAX


#: ``shrink`` against OpenCV's area-averaging resize of a real frame: mean absolute difference
#: in 8-bit levels on a smooth (upscaled) frame; 0.13-0.28 measured, nearest-neighbour 0.66+.
_SHRINK_MEAN_TOL = 0.5


@pytest.mark.parametrize("factor", [2 / 3, 1 / 2, 1 / 3, 0.3])
def test_shrink_is_close_to_area_averaging(grid_first_frame: np.ndarray, factor: float) -> None:
    import cv2

    big = cv2.resize(grid_first_frame, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    size = (round(big.shape[1] * factor), round(big.shape[0] * factor))
    out = shrink(big, size)
    area = cv2.resize(big, size, interpolation=cv2.INTER_AREA)
    assert out.shape == area.shape
    assert float(np.abs(out.astype(np.int16) - area).mean()) < _SHRINK_MEAN_TOL


def test_mediapipe_is_imported_without_its_plotting_library() -> None:
    """MediaPipe's package imports pyplot for drawing helpers never called here (about half
    its import time): the tracker keeps it out; MediaPipe's drawing, or a later import of it,
    gets the real one."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from emodirector.track.tracker import import_face_mesh\n"
        "mesh = import_face_mesh().FaceMesh(static_image_mode=True, refine_landmarks=True)\n"
        "mesh.close()\n"
        "assert not [m for m in sys.modules if m.startswith('matplotlib')], 'imported'\n"
        "from mediapipe.python.solutions import drawing_utils\n"
        "figure = drawing_utils.plt.figure\n"  # MediaPipe's drawing: the real one, on first use
        "import matplotlib.pyplot as plt\n"
        "assert plt.figure is figure and type(plt).__name__ == 'module'\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")


#: The GRID face upscaled 2x on a 1920x1080 canvas (tracked scaled by 2/3 for max_side, so
#: MediaPipe sees it at 4/3 of its own size): mean landmark distance to the GRID clip's own
#: tracking, in GRID pixels (0.21 measured).
_SCALED_MEAN_TOL_PX = 0.5


def test_face_in_a_frame_scaled_for_max_side_lands_where_it_is(
    grid_clip: Path, grid_analysis: VideoAnalysis, tmp_path: Path
) -> None:
    """A crop of a frame larger than ``max_side`` is scaled plane by plane before conversion;
    its landmarks map back to the coded frame's pixels."""
    import cv2

    at = (600, 250)

    def paste(i: int, rgb: np.ndarray) -> np.ndarray:
        face = cv2.resize(rgb[:288, :360], (720, 576), interpolation=cv2.INTER_CUBIC)
        out = np.full_like(rgb, 128)
        out[at[1] : at[1] + 576, at[0] : at[0] + 720] = face
        return out

    big = transcode(grid_clip, tmp_path / "big.mp4", canvas=(1920, 1080), max_frames=20,
                    edit=paste)  # fmt: skip
    shown: list[tuple[int, ...]] = []
    with FaceTracker(TrackerOptions(max_side=1280)) as tracker:
        (track,) = tracker.track_all(probe(big), observer=lambda i, rgb, f: shown.append(rgb.shape))
    assert shown[0] == (720, 1280, 3)  # the whole frame, scaled by 2/3
    assert all(s[0] % 2 == 0 and s[1] % 2 == 0 and s[0] < 720 for s in shown[1:])  # crops
    assert track.present.all()
    ref = np.asarray(grid_analysis.track.landmarks[: track.n_frames, :, :2])
    got = (np.asarray(track.landmarks[:, :, :2]) - np.array(at)) / 2
    assert np.linalg.norm(got - ref, axis=2).mean() < _SCALED_MEAN_TOL_PX


# --- a clip tracked in two halves at once -------------------------------------------------------

#: The later half, found anew a few frames early, against one pass over the whole clip: largest
#: and mean landmark distance (pixels of a face about 120 pixels tall; MediaPipe's own landmarks
#: move by about as much between two runs that start on different frames).
_SPLIT_MAX_PX = 1.0
_SPLIT_MEAN_PX = 0.3


class _Recorder:
    """A forking frame observer that notes the frames it was shown."""

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.forks: list[_Recorder] = []
        self.joined: list[object] = []

    def __call__(self, index: int, rgb: np.ndarray, faces: list[np.ndarray]) -> None:
        self.indices.append(index)

    def fork(self) -> _Recorder:
        self.forks.append(_Recorder())
        return self.forks[-1]

    def join(self, later: object) -> None:
        self.joined.append(later)


def _track_both_ways(
    path: Path, monkeypatch: pytest.MonkeyPatch, min_frames: int, observer: object = None
) -> tuple[FaceTrack, FaceTrack, list[tuple[str, int, int]]]:
    """The clip tracked in one pass, then split in two halves (any clip of ``min_frames``)."""
    import emodirector.track.tracker as tracker_module

    info = probe(path)
    with FaceTracker(TrackerOptions(parallel=False)) as tracker:
        (whole,) = tracker.track_all(info)
    monkeypatch.setattr(tracker_module, "PARALLEL_MIN_FRAMES", min_frames)
    calls: list[tuple[str, int, int]] = []
    with FaceTracker(TrackerOptions()) as tracker:
        (split,) = tracker.track_all(info, lambda *a: calls.append(a), observer)  # type: ignore[arg-type]
    return whole, split, calls


def test_clip_tracked_in_two_halves_matches_one_pass(
    grid_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = transcode(grid_clip, tmp_path / "grid.mp4")  # its frame count known: it is split
    observer = _Recorder()
    whole, split, calls = _track_both_ways(clip, monkeypatch, 40, observer)
    n, half = whole.n_frames, whole.n_frames // 2
    np.testing.assert_array_equal(split.present, whole.present)
    np.testing.assert_array_equal(split.segment, whole.segment)  # one segment across the seam
    np.testing.assert_array_equal(split.times, whole.times)
    dist = np.linalg.norm(split.landmarks[..., :2] - whole.landmarks[..., :2], axis=2)
    assert dist.max() < _SPLIT_MAX_PX
    assert dist.mean() < _SPLIT_MEAN_PX
    # each half's observer saw its own frames once, in order (not the later half's warm-up)
    (later,) = observer.forks
    assert observer.indices == list(range(half)) and later.indices == list(range(half, n))
    assert observer.joined == [later]
    # progress: never backwards, to the end
    done = [c[1] for c in calls]
    assert done == sorted(done) and done[-1] == n and {c[0] for c in calls} == {"track"}


def test_face_hidden_across_the_split_is_followed_as_in_one_pass(
    grid_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hidden over the frames where the clip is split, the face is found again by the later
    half where it was: one segment, as one pass finds it."""

    def hide(i: int, rgb: np.ndarray) -> np.ndarray:
        if i in _HIDDEN_FRAMES:
            rgb = rgb.copy()
            rgb[...] = 128
        return rgb

    clip = transcode(grid_clip, tmp_path / "hidden.mp4", max_frames=30, edit=hide)
    whole, split, _ = _track_both_ways(clip, monkeypatch, 20)  # split at 15, inside the gap
    hidden = np.isin(np.arange(whole.n_frames), list(_HIDDEN_FRAMES))
    np.testing.assert_array_equal(whole.present, ~hidden)
    np.testing.assert_array_equal(split.present, whole.present)
    np.testing.assert_array_equal(split.segment, whole.segment)
    assert set(split.segment[~hidden]) == {0}


def test_cut_to_another_person_at_the_split_starts_a_new_segment(
    grid_clip: Path, grid_clip_2: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = transcode(grid_clip, tmp_path / "cut.mp4", max_frames=30, sources=(grid_clip_2,))
    whole, split, _ = _track_both_ways(clip, monkeypatch, 20)  # 60 frames: split at the cut
    assert whole.present.all()
    np.testing.assert_array_equal(whole.segment, np.repeat([0, 1], 30))
    np.testing.assert_array_equal(split.segment, whole.segment)


class _Failing(_Recorder):
    """Fails on the fifth frame of the earlier half, or (``later``) of the later one."""

    def __init__(self, later: bool) -> None:
        super().__init__()
        self.later = later

    def __call__(self, index: int, rgb: np.ndarray, faces: list[np.ndarray]) -> None:
        super().__call__(index, rgb, faces)
        if not self.later and len(self.indices) == 5:
            raise RuntimeError("observer failed")

    def fork(self) -> _Recorder:
        return _Failing(later=False) if self.later else _Recorder()


@pytest.mark.parametrize("later", [False, True])
def test_a_failure_in_either_half_reaches_the_caller_and_stops_the_other(
    grid_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, later: bool
) -> None:
    import threading

    import emodirector.track.tracker as tracker_module

    clip = transcode(grid_clip, tmp_path / "grid.mp4", max_frames=60)
    monkeypatch.setattr(tracker_module, "PARALLEL_MIN_FRAMES", 20)
    with FaceTracker(TrackerOptions()) as tracker, pytest.raises(RuntimeError, match="failed"):
        tracker.track_all(probe(clip), observer=_Failing(later))
    assert not [t for t in threading.enumerate() if t.name == "emodirector-track"]


def test_later_half_that_chose_another_face_is_tracked_again_from_the_first(
    grid_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A larger copy of the face comes into view before the split: one pass goes on following
    the face it found first; the later half, searching the whole frame, takes the larger one,
    so it is tracked again on from the first half, and the track is one pass's."""
    import cv2

    def second_face(i: int, rgb: np.ndarray) -> np.ndarray:
        if i >= 20:
            rgb = rgb.copy()
            rgb[50:424, 420:888] = cv2.resize(rgb[100:388, 0:360], (468, 374))
        return rgb

    clip = transcode(grid_clip, tmp_path / "two.mp4", canvas=(900, 480), offset=(0, 100),
                     max_frames=60, edit=second_face)  # fmt: skip
    observer = _Recorder()
    whole, split, calls = _track_both_ways(clip, monkeypatch, 20, observer)  # split at 30
    assert whole.present.all()
    assert np.nanmax(whole.landmarks[:, :, 0]) < 400  # one pass stays on the face on the left
    np.testing.assert_array_equal(split.segment, whole.segment)
    np.testing.assert_array_equal(split.landmarks, whole.landmarks)
    # the observer joined is the one that watched the frames tracked again
    assert len(observer.forks) == 2 and observer.joined == [observer.forks[1]]
    assert observer.forks[1].indices == list(range(30, 60))
    assert calls[-1][1] == 60


@pytest.mark.parametrize("zero", [None, (5, "z"), (0, "x")])
def test_landmark_array_reads_every_coordinate(zero: tuple[int, str] | None) -> None:
    """Read from the serialised list, the landmarks are exactly MediaPipe's values, also where
    a coordinate of exactly 0 is left out of the bytes."""
    from mediapipe.framework.formats import landmark_pb2

    from emodirector.track.tracker import landmark_array

    values = np.random.default_rng(3).normal(size=(N_LANDMARKS, 3)).astype(np.float32)
    listed = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in values:
        listed.landmark.add(x=x, y=y, z=z)
    if zero is not None:
        setattr(listed.landmark[zero[0]], zero[1], 0.0)
        values[zero[0], "xyz".index(zero[1])] = 0.0
    got = landmark_array(listed)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, values)


@pytest.mark.parametrize(
    ("size", "codec", "frames", "options", "split"),
    [
        ((1920, 1080), "h264", 250, {}, 125),
        ((1080, 1920), "hevc", 250, {}, None),  # decodes slower: the later half's cost
        ((1280, 720), "hevc", 250, {}, 125),
        ((3840, 2160), "h264", 250, {}, None),
        ((1920, 1080), "h264", 199, {}, None),
        ((1920, 1080), "h264", 0, {}, None),  # length unknown
        ((1920, 1080), "h264", 250, {"parallel": False}, None),
        ((1920, 1080), "h264", 250, {"face": "all"}, None),
    ],
)
def test_which_clips_are_tracked_in_two_halves(
    grid_clip: Path,
    size: tuple[int, int],
    codec: str,
    frames: int,
    options: dict[str, object],
    split: int | None,
) -> None:
    import dataclasses

    info = dataclasses.replace(
        probe(grid_clip), width=size[0], height=size[1], codec=codec, frame_count=frames
    )
    tracker = FaceTracker(TrackerOptions(**options))  # type: ignore[arg-type]
    n_slots = 4 if options.get("face") == "all" else 1
    assert tracker._split_at(info, n_slots, None) == split
