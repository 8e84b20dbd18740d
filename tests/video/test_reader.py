"""Probing and streaming decode (emodirector.video.reader)."""

from __future__ import annotations

import inspect
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from emodirector.errors import InputNotFoundError, UnsupportedVideoError
from emodirector.video import check_input_path, iter_frames, probe
from tests._media import make_clip, synthetic_plane

#: Frames of the GRID clip (2.98 s at 25 fps).
_GRID_FRAMES = 75
#: Largest mean absolute difference (8-bit levels) between a decoded synthetic frame and the
#: texture it was encoded from (x264 at crf 18 on a smooth texture).
_DECODE_MEAN_ERR_MAX = 3.0


# --- probe: real files --------------------------------------------------------------------------


def test_probe_odd_frame_rate_is_exact_fraction(odd_fps_clip: Path) -> None:
    info = probe(odd_fps_clip)
    assert info.fps == Fraction(1350, 61)
    assert (info.width, info.height) == (700, 700)
    assert info.codec == "h264"
    assert info.frame_count == 135
    assert info.has_audio


def test_probe_mpeg1_program_stream(grid_clip: Path) -> None:
    info = probe(grid_clip)
    assert info.codec == "mpeg1video"
    assert (info.width, info.height) == (360, 288)
    assert info.fps == Fraction(25)
    assert info.duration == pytest.approx(2.98, abs=0.02)
    assert info.pix_fmt == "yuv420p"
    assert info.rotation == 0
    assert info.audio_streams == (1,)


def test_probe_hevc_portrait(hevc_clip: Path) -> None:
    info = probe(hevc_clip)
    assert info.codec == "hevc"
    assert (info.width, info.height) == (1080, 1920)
    assert info.rotation == 0
    assert info.fps == Fraction(25)
    assert info.duration == pytest.approx(10.01, abs=0.02)
    assert info.has_audio


def test_probe_clip_without_audio(mead_dir: Path) -> None:
    info = probe(mead_dir / "M030_front_neutral_level1_001.mp4")
    assert info.audio_streams == ()
    assert not info.has_audio
    assert (info.width, info.height) == (256, 256)


# --- probe: synthetic files ---------------------------------------------------------------------


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_probe_reads_display_rotation(tmp_path: Path, rotation: int) -> None:
    clip = make_clip(tmp_path / "rot.mp4", n_frames=3, audio=False, rotation=rotation)
    assert probe(clip).rotation == rotation


def test_probe_synthetic_fields(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", n_frames=30, size=(128, 96), fps=Fraction(30000, 1001))
    info = probe(clip)
    assert (info.width, info.height) == (128, 96)
    assert info.fps == Fraction(30000, 1001)
    assert info.frame_count == 30
    assert info.codec == "h264"
    assert info.audio_streams == (1,)


# --- probe and check_input_path: misuse ---------------------------------------------------------


def test_probe_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="no such file"):
        probe(tmp_path / "absent.mp4")


def test_probe_directory(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="not a regular file"):
        probe(tmp_path)


def test_check_input_path_accepts_file(tmp_path: Path) -> None:
    f = tmp_path / "x.mp4"
    f.write_bytes(b"x")
    assert check_input_path(str(f)) == f


def test_probe_text_file_renamed_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 20)
    with pytest.raises(UnsupportedVideoError, match="cannot be read as a video"):
        probe(fake)


def test_probe_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedVideoError):
        probe(empty)


def test_probe_audio_only_file(wav_file: Path) -> None:
    with pytest.raises(UnsupportedVideoError, match="no video stream"):
        probe(wav_file)


# --- iter_frames --------------------------------------------------------------------------------


def test_iter_frames_is_lazy(grid_clip: Path) -> None:
    info = probe(grid_clip)
    frames = iter_frames(info, "rgb24")
    assert inspect.isgenerator(frames)
    first = next(frames)
    assert first.index == 0
    assert first.image.shape == (288, 360, 3)
    frames.close()


def test_iter_frames_counts_every_frame_of_mpeg1(grid_clip: Path) -> None:
    info = probe(grid_clip)
    assert info.frame_count == 0  # the MPEG-PS header declares none: decoding must count them
    indices = [f.index for f in iter_frames(info, "rgb24")]
    assert indices == list(range(_GRID_FRAMES))


def test_iter_frames_count_matches_header(odd_fps_clip: Path) -> None:
    info = probe(odd_fps_clip)
    assert sum(1 for _ in iter_frames(info, "yuv420p", size=(64, 64))) == info.frame_count


def test_iter_frames_timestamps_increase_and_match_time(grid_clip: Path) -> None:
    info = probe(grid_clip)
    frames = list(iter_frames(info, "yuv420p", size=(32, 32)))
    pts = [f.pts for f in frames]
    assert all(p is not None for p in pts)
    assert all(b > a for a, b in zip(pts, pts[1:], strict=False))
    for f in frames:
        assert f.time == pytest.approx(float(f.pts * info.time_base))
    # 25 fps: consecutive frames 40 ms apart
    assert np.diff([f.time for f in frames]) == pytest.approx(0.04, abs=1e-6)


def test_iter_frames_yuv420p_layout(grid_clip: Path) -> None:
    frame = next(iter_frames(probe(grid_clip), "yuv420p"))
    assert frame.image.shape == (288 * 3 // 2, 360)
    assert frame.image.dtype == np.uint8


def test_iter_frames_scales_on_request(grid_clip: Path) -> None:
    frame = next(iter_frames(probe(grid_clip), "rgb24", size=(180, 144)))
    assert frame.image.shape == (144, 180, 3)


def test_iter_frames_content_in_order(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", n_frames=12, audio=False)
    info = probe(clip)
    n = 0
    for frame in iter_frames(info, "yuv420p"):
        expected = synthetic_plane(info.width, info.height, frame.index).astype(np.float64)
        err = np.abs(frame.image.astype(np.float64) - expected)[: info.height].mean()
        assert err < _DECODE_MEAN_ERR_MAX, f"frame {frame.index} decoded out of order"
        n += 1
    assert n == 12


def test_iter_frames_from_start_yields_the_same_later_frames(grid_clip: Path) -> None:
    """``start`` skips the conversion of the frames before it, not their decoding: the frames
    from it on are those of a whole decode, with the same index, time and pixels."""
    info = probe(grid_clip)
    whole = list(iter_frames(info, "yuv420p"))
    later = list(iter_frames(info, "yuv420p", start=40))
    assert [f.index for f in later] == [f.index for f in whole[40:]]
    assert [f.time for f in later] == [f.time for f in whole[40:]]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(later, whole[40:], strict=True))
