"""Shared fixtures: where the real footage is, and expensive analyses computed once per session.

Real footage is read from ``$EMODIRECTOR_DATA`` (default: ``shared/data`` beside the repository);
tests that need it are skipped, with the path in the reason, when it is absent. It is never
copied into the repository: derived clips are written to pytest's temporary folders.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from emodirector import VideoAnalysis, analyze_video
from tests._media import ROTATION, write_rotated_copy

if TYPE_CHECKING:
    from emodirector import Emotion
    from emodirector.calibrate.prototypes import LabeledFit

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"

#: The shortest real clips: 2.98 s MPEG-1/MP2, 75 frames, one frontal speaker.
GRID_CLIP = "videos/grid_bbaf2n_man_360x288_speech.mpg"
#: The other GRID clip (another speaker, same format and length).
GRID_CLIP_2 = "videos/grid_brbk7n_woman_360x288_speech.mpg"
#: 22.13 fps (1350/61) H.264 + AAC, first video pts not zero.
ODD_FPS_CLIP = "videos/videoretalking_face1_man_suit_headtilt_700x700_speech.mp4"
#: Portrait 1080x1920 HEVC.
HEVC_CLIP = "videos/latentsync_demo1_woman_seated_outdoor_1080x1920_speech.mp4"
#: An audio-only file.
WAV_FILE = "videos/styletalk_feifeili_clip1_256x256_audio.wav"
MEAD_DIR = "labeled/mead"


@pytest.fixture(scope="session", autouse=True)
def _signing_config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every edit in the tests signs its manifest with a default key made in a temporary config
    folder (inherited by CLI subprocesses), never in the real ``~/.config``."""
    path = tmp_path_factory.mktemp("emodirector-config")
    os.environ["EMODIRECTOR_CONFIG_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real-footage folder, or skip."""
    path = Path(os.environ.get("EMODIRECTOR_DATA", DEFAULT_DATA))
    if not path.is_dir():
        pytest.skip(f"real footage not found at {path} (set EMODIRECTOR_DATA)")
    return path


def _data_file(data_dir: Path, relative: str) -> Path:
    path = data_dir / relative
    if not path.is_file():
        pytest.skip(f"{relative} is missing from {data_dir}")
    return path


@pytest.fixture(scope="session")
def grid_clip(data_dir: Path) -> Path:
    return _data_file(data_dir, GRID_CLIP)


@pytest.fixture(scope="session")
def grid_clip_2(data_dir: Path) -> Path:
    return _data_file(data_dir, GRID_CLIP_2)


@pytest.fixture(scope="session")
def odd_fps_clip(data_dir: Path) -> Path:
    return _data_file(data_dir, ODD_FPS_CLIP)


@pytest.fixture(scope="session")
def hevc_clip(data_dir: Path) -> Path:
    return _data_file(data_dir, HEVC_CLIP)


@pytest.fixture(scope="session")
def wav_file(data_dir: Path) -> Path:
    return _data_file(data_dir, WAV_FILE)


@pytest.fixture(scope="session")
def mead_dir(data_dir: Path) -> Path:
    path = data_dir / MEAD_DIR
    if not path.is_dir():
        pytest.skip(f"{MEAD_DIR} is missing from {data_dir}")
    return path


#: ``mead_fits(actors, emotions)``: the MEAD clips of those actors and emotions, fitted.
MeadFits = Callable[[Iterable[str], Iterable["Emotion"]], list["LabeledFit"]]


@pytest.fixture(scope="session")
def mead_fits(mead_dir: Path) -> MeadFits:
    """MEAD clips tracked and fitted at most once for the whole session, on demand.

    ``mead_fits(("M030",), (Emotion.NEUTRAL, Emotion.HAPPY))`` returns those clips' fits in
    ``find_mead_clips`` order; a clip another test already asked for is not fitted again.
    """
    from emodirector.calibrate.prototypes import find_mead_clips, fit_labeled_clips

    clips = find_mead_clips(mead_dir)
    done: dict[Path, LabeledFit] = {}

    def fits(actors: Iterable[str], emotions: Iterable[Emotion]) -> list[LabeledFit]:
        actors, emotions = set(actors), set(emotions)
        chosen = [c for c in clips if c.actor in actors and c.emotion in emotions]
        for fit in fit_labeled_clips([c for c in chosen if c.path not in done]):
            done[fit.clip.path] = fit
        return [done[c.path] for c in chosen]

    return fits


@pytest.fixture(scope="session")
def grid_analysis(grid_clip: Path) -> VideoAnalysis:
    """The GRID clip tracked and fitted once for the whole session."""
    return analyze_video(grid_clip)


@pytest.fixture(scope="session")
def rotated_grid_analysis(
    grid_clip: Path, tmp_path_factory: pytest.TempPathFactory
) -> VideoAnalysis:
    """A display-rotated lossless copy of the GRID clip, tracked and fitted."""
    path = write_rotated_copy(
        grid_clip, tmp_path_factory.mktemp("rotated") / "grid_rot.mp4", ROTATION
    )
    return analyze_video(path)
