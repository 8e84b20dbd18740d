"""Face tracking: MediaPipe face mesh, face selection across frames, temporal smoothing."""

from emodirector.track.smoothing import smooth_landmarks
from emodirector.track.tracker import FaceTrack, FaceTracker, ProgressCallback, TrackerOptions

__all__ = ["FaceTrack", "FaceTracker", "ProgressCallback", "TrackerOptions", "smooth_landmarks"]
