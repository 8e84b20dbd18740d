"""Video I/O: streaming decode, encode with the original audio copied packet for packet."""

from emodirector.video.prefetch import prefetch
from emodirector.video.reader import Frame, VideoInfo, check_input_path, iter_frames, probe
from emodirector.video.writer import EncodeOptions, VideoWriter, check_output_path

__all__ = [
    "EncodeOptions",
    "Frame",
    "VideoInfo",
    "VideoWriter",
    "check_input_path",
    "check_output_path",
    "iter_frames",
    "prefetch",
    "probe",
]
