"""Encoding with the original audio copied packet for packet (emodirector.video.writer)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from emodirector.errors import InvalidOptionError, OutputError, UnsupportedVideoError
from emodirector.video import (
    EncodeOptions,
    VideoInfo,
    VideoWriter,
    check_output_path,
    iter_frames,
    probe,
)
from tests._media import (
    audio_packet_times,
    audio_packets,
    container_duration,
    decoded_yuv,
    frame_count,
    make_clip,
    video_times,
)

#: Output duration may differ from the input's by at most this many frame periods.
_DURATION_TOLERANCE_FRAMES = 1.0
#: Audio packet times may differ by at most this many ticks of the coarser time base.
_AUDIO_TIME_TOLERANCE_TICKS = 1

#: Largest RGB difference (8-bit levels) of a lossless pass-through of full-range video.
_FULL_RANGE_RGB_TOL = 1

_FAST = EncodeOptions(preset="ultrafast")
_LOSSLESS = EncodeOptions(crf=0, preset="ultrafast")


class _BoomError(RuntimeError):
    """Raised inside the ``with`` block to simulate a failure half-way through an encode."""


def _pass_through(src: Path, out: Path, options: EncodeOptions | None = None) -> Path:
    info = probe(src)
    with VideoWriter(out, info, options or _FAST) as writer:
        for frame in iter_frames(info, "yuv420p"):
            writer.write(frame.image, frame.pts)
    return out


def _leftovers(folder: Path) -> list[str]:
    """Hidden temporary files the writer may have left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


@pytest.fixture(scope="module")
def synthetic_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 2 s 30000/1001 fps clip with an AAC tone whose first frame is at 0.5 s, passed through."""
    folder = tmp_path_factory.mktemp("synthetic")
    src = make_clip(folder / "tone.mp4", n_frames=60, fps=Fraction(30000, 1001), start_frame=15)
    return src, _pass_through(src, folder / "out.mp4")


@pytest.fixture(scope="module")
def grid_pair(grid_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The GRID MPEG-1/MP2 clip passed through into MP4."""
    return grid_clip, _pass_through(grid_clip, tmp_path_factory.mktemp("grid") / "out.mp4")


@pytest.fixture(scope="module")
def odd_fps_pair(odd_fps_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The 22.13 fps H.264/AAC clip passed through."""
    return odd_fps_clip, _pass_through(odd_fps_clip, tmp_path_factory.mktemp("odd") / "out.mp4")


@pytest.fixture(params=["synthetic_pair", "grid_pair", "odd_fps_pair"])
def pair(request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """``(input, output)`` of a pass-through encode."""
    return request.getfixturevalue(request.param)


# --- what the output keeps ----------------------------------------------------------------------


def test_output_has_every_frame(pair: tuple[Path, Path]) -> None:
    src, out = pair
    n = frame_count(src)
    assert n > 0
    assert frame_count(out) == n


def test_presentation_timestamps_identical(pair: tuple[Path, Path]) -> None:
    src, out = pair
    expected = video_times(src)
    assert expected
    assert video_times(out) == expected


def test_duration_within_one_frame(pair: tuple[Path, Path]) -> None:
    src, out = pair
    period = 1.0 / float(probe(src).fps)
    assert abs(container_duration(out) - container_duration(src)) <= (
        _DURATION_TOLERANCE_FRAMES * period
    )


def test_audio_packets_byte_identical(pair: tuple[Path, Path]) -> None:
    src, out = pair
    expected = audio_packets(src)
    assert len(expected) > 10
    assert audio_packets(out) == expected


def test_audio_packet_times_kept(pair: tuple[Path, Path]) -> None:
    src, out = pair
    expected, tb_in = audio_packet_times(src)
    got, tb_out = audio_packet_times(out)
    assert expected
    assert len(got) == len(expected)
    # exact where the time bases agree; else within one tick of the coarser one (MPEG-PS: 90 kHz)
    tolerance = _AUDIO_TIME_TOLERANCE_TICKS * max(tb_in, tb_out)
    worst = max(abs(a - b) for a, b in zip(got, expected, strict=True))
    assert worst <= tolerance


def test_time_base_and_frame_size_kept(pair: tuple[Path, Path]) -> None:
    src, out = pair
    a, b = probe(src), probe(out)
    assert b.time_base == a.time_base
    assert (b.width, b.height) == (a.width, a.height)
    assert b.codec == "h264"


def test_no_temporary_file_left_after_success(synthetic_pair: tuple[Path, Path]) -> None:
    _, out = synthetic_pair
    assert out.is_file()
    assert _leftovers(out.parent) == []


def test_lossless_pass_through_keeps_luma(grid_clip: Path, tmp_path: Path) -> None:
    out = _pass_through(grid_clip, tmp_path / "lossless.mp4", _LOSSLESS)
    h = probe(grid_clip).height
    n = 0
    for a, b in zip(decoded_yuv(grid_clip), decoded_yuv(out), strict=True):
        np.testing.assert_array_equal(b[:h], a[:h])
        n += 1
    assert n == 75


def test_display_rotation_kept(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "rot.mp4", n_frames=5, audio=False, rotation=270)
    out = _pass_through(src, tmp_path / "out.mp4")
    assert probe(out).rotation == 270


def test_clip_without_audio(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "mute.mp4", n_frames=10, audio=False)
    out = _pass_through(src, tmp_path / "out.mp4")
    assert probe(out).audio_streams == ()
    assert frame_count(out) == 10


def test_copy_audio_false_drops_audio(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "tone.mp4", n_frames=10)
    info = probe(src)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, info, _FAST, copy_audio=False) as writer:
        for frame in iter_frames(info, "yuv420p"):
            writer.write(frame.image, frame.pts)
    assert probe(out).audio_streams == ()


def test_missing_timestamps_become_frame_slots(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "c.mp4", n_frames=10, audio=False)
    info = probe(src)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, info, _FAST) as writer:
        for frame in iter_frames(info, "yuv420p"):
            writer.write(frame.image, None)
        assert writer.frames_written == 10
    times = video_times(out)
    assert len(times) == 10
    assert np.diff([float(t) for t in times]) == pytest.approx(1 / 25, abs=1e-6)


def test_full_range_input_stays_full_range(tmp_path: Path) -> None:
    src = tmp_path / "full.mkv"
    with av.open(str(src), "w") as c:
        s = c.add_stream("mjpeg", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuvj420p"
        for i in range(5):
            rgb = np.zeros((48, 64, 3), np.uint8)
            rgb[..., 0] = np.linspace(0, 255, 64, dtype=np.uint8)
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    assert probe(src).color_range == 2
    out = _pass_through(src, tmp_path / "out.mp4", _LOSSLESS)
    assert probe(out).color_range == 2
    with av.open(str(src)) as a, av.open(str(out)) as b:
        ra = next(a.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        rb = next(b.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert np.abs(ra - rb).max() <= _FULL_RANGE_RGB_TOL


# --- failure inside the ``with`` block ----------------------------------------------------------


def test_exception_inside_with_leaves_no_file(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "c.mp4")
    info = probe(src)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "edited.mp4"
    with pytest.raises(_BoomError), VideoWriter(out, info, _FAST) as writer:
        for frame in iter_frames(info, "yuv420p"):
            writer.write(frame.image, frame.pts)
            if frame.index == 10:
                assert writer.temp_path.is_file()  # work in progress goes to the temp file
                raise _BoomError
    assert not out.exists()
    assert list(out_dir.iterdir()) == []


def test_exception_inside_with_keeps_existing_output(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "c.mp4", n_frames=10)
    info = probe(src)
    out = tmp_path / "previous.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(_BoomError), VideoWriter(out, info, _FAST) as writer:
        frame = next(iter_frames(info, "yuv420p"))
        writer.write(frame.image, frame.pts)
        raise _BoomError
    assert out.read_bytes() == b"previous result"
    assert _leftovers(tmp_path) == []


def test_keyboard_interrupt_inside_with_leaves_no_file(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "c.mp4", n_frames=10)
    info = probe(src)
    out = tmp_path / "edited.mp4"
    with pytest.raises(KeyboardInterrupt), VideoWriter(out, info, EncodeOptions()) as writer:
        frame = next(iter_frames(info, "yuv420p"))
        writer.write(frame.image, frame.pts)
        raise KeyboardInterrupt
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_audio_codec_unsupported_by_container_is_output_error(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "opus.mkv", n_frames=10, audio_codec="libopus", sample_rate=48000)
    info = probe(src)
    out = tmp_path / "out.mov"
    try:
        with (
            pytest.raises(OutputError),
            VideoWriter(out, info, _FAST) as writer,
        ):
            for frame in iter_frames(info, "yuv420p"):
                writer.write(frame.image, frame.pts)
    finally:
        assert _leftovers(tmp_path) == []
        assert not out.exists()


# --- check_output_path: each misuse -------------------------------------------------------------


@pytest.fixture
def some_input(tmp_path: Path) -> Path:
    f = tmp_path / "input.mp4"
    f.write_bytes(b"not read by check_output_path")
    return f


def test_check_output_path_accepts_new_file(some_input: Path) -> None:
    out = some_input.parent / "new.mp4"
    assert check_output_path(out, some_input, overwrite=False) == out


def test_check_output_path_refuses_existing_without_overwrite(some_input: Path) -> None:
    out = some_input.parent / "exists.mp4"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="already exists"):
        check_output_path(out, some_input, overwrite=False)
    assert out.read_bytes() == b"keep me"


def test_check_output_path_allows_existing_with_overwrite(some_input: Path) -> None:
    out = some_input.parent / "exists.mp4"
    out.write_bytes(b"old")
    assert check_output_path(out, some_input, overwrite=True) == out


def test_check_output_path_refuses_input_itself(some_input: Path) -> None:
    with pytest.raises(OutputError, match="is the input"):
        check_output_path(some_input, some_input, overwrite=True)


def test_check_output_path_refuses_input_via_other_spelling(
    some_input: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (some_input.parent / "sub").mkdir()
    monkeypatch.chdir(some_input.parent)
    with pytest.raises(OutputError, match="is the input"):
        check_output_path(Path("sub/../input.mp4"), some_input, overwrite=True)


def test_check_output_path_refuses_symlink_to_input(some_input: Path) -> None:
    link = some_input.parent / "link.mp4"
    os.symlink(some_input, link)
    with pytest.raises(OutputError, match="is the input"):
        check_output_path(link, some_input, overwrite=True)


def test_check_output_path_refuses_missing_folder(some_input: Path) -> None:
    with pytest.raises(OutputError, match="folder does not exist"):
        check_output_path(some_input.parent / "nowhere" / "out.mp4", some_input, overwrite=False)


def test_check_output_path_refuses_directory(some_input: Path) -> None:
    folder = some_input.parent / "looks_like.mp4"
    folder.mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        check_output_path(folder, some_input, overwrite=True)


def test_check_output_path_refuses_unknown_container(some_input: Path) -> None:
    with pytest.raises(OutputError, match="must end in one of"):
        check_output_path(some_input.parent / "out.avi", some_input, overwrite=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_check_output_path_refuses_read_only_folder(some_input: Path) -> None:
    folder = some_input.parent / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            check_output_path(folder / "out.mp4", some_input, overwrite=False)
    finally:
        folder.chmod(0o700)


# --- EncodeOptions: each misuse -----------------------------------------------------------------


def test_encode_options_crf_below_range() -> None:
    with pytest.raises(InvalidOptionError, match="crf"):
        EncodeOptions(crf=-1)


def test_encode_options_crf_above_range() -> None:
    with pytest.raises(InvalidOptionError, match="crf"):
        EncodeOptions(crf=52)


def test_encode_options_unknown_preset() -> None:
    with pytest.raises(InvalidOptionError, match="preset"):
        EncodeOptions(preset="warp9")


def test_video_info_rejects_zero_size(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedVideoError, match="frame size"):
        VideoInfo(
            path=tmp_path / "x.mp4", width=0, height=10, fps=Fraction(25),
            time_base=Fraction(1, 25), frame_count=0, duration=0.0, codec="h264",
            pix_fmt="yuv420p", rotation=0, color_range=0, audio_streams=(),
        )  # fmt: skip


#: Largest luma difference (levels) of a lossless odd-size pass-through (4:4:4 round trip).
_ODD_SIZE_LUMA_TOL = 0


def test_odd_frame_size_is_written_as_yuv444_at_its_size(tmp_path: Path) -> None:
    """853x479 cannot be H.264 4:2:0: frames come padded to 854x480 and are written 4:4:4,
    cropped back to 853x479, luma unchanged."""
    even = make_clip(tmp_path / "even.mp4", n_frames=3, size=(854, 480), audio=False, crf=0)
    src = tmp_path / "odd.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 853, 479, "yuv444p"
        s.codec_context.options = {"qp": "0"}
        for i, plane in enumerate(decoded_yuv(even)):
            full = av.VideoFrame.from_ndarray(plane, format="yuv420p").reformat(format="yuv444p")
            a = full.to_ndarray()[:, :479, :853]
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format="yuv444p")
            f.pts = i
            for packet in s.encode(f):
                c.mux(packet)
        for packet in s.encode(None):
            c.mux(packet)
    info = probe(src)
    assert info.padded_size == (854, 480)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, info, EncodeOptions(crf=0)) as w:
        for frame in iter_frames(info, "yuv420p"):
            assert frame.image.shape == (720, 854)
            w.write(frame.image, frame.pts)
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        assert (stream.width, stream.height) == (853, 479)
        assert stream.codec_context.pix_fmt == "yuv444p"
    with av.open(str(src)) as a_c, av.open(str(out)) as b_c:
        for fa, fb in zip(a_c.decode(video=0), b_c.decode(video=0), strict=True):
            ya, yb = fa.to_ndarray()[0].astype(int), fb.to_ndarray()[0].astype(int)
            assert np.abs(ya - yb).max() <= _ODD_SIZE_LUMA_TOL


def test_encoder_thread_failure_surfaces_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error inside the encoding thread reaches the caller as an OutputError; nothing is left."""
    clip = make_clip(tmp_path / "in.mp4", n_frames=5)
    info = probe(clip)

    def broken(self: VideoWriter, t: float | None) -> None:
        raise av.error.InvalidDataError(1094995529, "broken on purpose")

    monkeypatch.setattr(VideoWriter, "_mux_audio_until", broken)
    with (
        pytest.raises(OutputError, match="encoding failed"),
        VideoWriter(tmp_path / "out.mp4", info, EncodeOptions()) as writer,
    ):
        for frame in iter_frames(info, "yuv420p"):
            writer.write(frame.image, frame.pts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
