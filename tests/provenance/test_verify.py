"""``emodirector edit`` writes the provenance, ``emodirector verify`` reads it (real CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import c2pa
import pytest

from emodirector import EditOptions, EmotionTarget, EncodeOptions, VideoAnalysis, edit_video
from emodirector.provenance.options import ProvenanceOptions
from emodirector.provenance.signing import SigningOptions
from emodirector.provenance.verify import verify_video
from tests._cli import call_cli, run_cli
from tests._media import sha256
from tests.provenance._attacks import attack
from tests.provenance.test_manifest import user_certificate

_EXIT_NO_MARK = 7
_EXIT_TAMPERED = 8


def _verify(video: Path) -> tuple[int, dict]:
    proc = call_cli("verify", video, "--json")  # in this process; exit codes: the tamper test
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def edited(
    grid_clip: Path, grid_analysis: VideoAnalysis, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The GRID clip edited with the default options (the CLI's run: the slow test below)."""
    out = tmp_path_factory.mktemp("verify") / "happy.mp4"
    target = EmotionTarget.from_label("happy", 0.8)
    return edit_video(grid_clip, out, target, EditOptions(), analysis=grid_analysis).output


def test_edit_output_carries_a_manifest_c2pa_validates(edited: Path) -> None:
    with open(edited, "rb") as f, c2pa.Reader("video/mp4", f) as reader:
        assert reader.get_validation_state() in ("Valid", "Trusted")


def test_verify_reports_the_edit(edited: Path, grid_clip: Path) -> None:
    code, data = _verify(edited)
    assert code == 0 and data["verdict"] == "recognised"
    m, w = data["manifest"], data["watermark"]
    assert m["status"] == "valid-untrusted-signer"
    assert "not who holds the key" in m["note"]
    edit = m["edit"]
    assert edit["description"] == "facial expression changed: happy, intensity 0.8"
    assert edit["direction"] == "emotion happy@0.8" and edit["editor"] == "prototype"
    assert edit["input"] == grid_clip.name and edit["input_sha256"] == sha256(grid_clip)
    assert w["found"] and w["z"] >= w["threshold"]
    assert w["payload"] == {"tool": "emodirector", "version": 1, "edit_id": edit["edit_id"]}
    assert w["matches_manifest"] is True
    text = call_cli("verify", edited)
    assert text.returncode == 0 and "verdict: an emodirector edit" in text.stdout


def test_web_ui_line_says_the_same(edited: Path) -> None:
    from emodirector.ui.jobs import provenance_status

    _, data = _verify(edited)
    line = provenance_status(edited)
    assert "signed C2PA manifest, valid" in line and "watermark found" in line
    assert data["watermark"]["payload"]["edit_id"] in line


def test_one_flipped_byte_makes_verify_say_tampered(edited: Path, tmp_path: Path) -> None:
    data = bytearray(edited.read_bytes())
    mdat = data.index(b"mdat")
    data[mdat + (len(data) - mdat) // 2] ^= 0x01
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    proc = run_cli("verify", bad)
    assert proc.returncode == _EXIT_TAMPERED, proc.stderr
    assert "INVALID" in proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unedited_clip_has_no_mark(grid_clip: Path) -> None:
    code, data = _verify(grid_clip)
    assert code == _EXIT_NO_MARK
    assert data["manifest"]["status"] == "none" and not data["watermark"]["found"]


def test_verify_bad_input(tmp_path: Path) -> None:
    assert call_cli("verify", tmp_path / "missing.mp4").returncode == 3
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    proc = call_cli("verify", text)
    assert proc.returncode == 4 and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_cli_edit_signs_with_the_users_certificate(grid_clip: Path, tmp_path: Path) -> None:
    cert, key = user_certificate(tmp_path)
    out = tmp_path / "signed.mov"
    proc = run_cli("edit", grid_clip, "-o", out, "--emotion", "sad", "--edit-id", "1a2b3c4d",
                   "--sign-cert", cert, "--sign-key", key)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "signed C2PA manifest and invisible watermark, edit id 1a2b3c4d" in proc.stdout
    code, data = _verify(out)
    assert code == 0
    assert data["manifest"]["status"] == "valid-untrusted-signer"
    assert "Test Studio signing" in data["manifest"]["signer"]
    assert data["manifest"]["edit"]["edit_id"] == "1a2b3c4d"


@pytest.mark.parametrize("bad", ["xyz", "123456789", "-1"])
def test_bad_edit_id_is_refused(bad: str, grid_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    proc = call_cli("edit", grid_clip, "-o", out, "--emotion", "sad", "--edit-id", bad)
    assert proc.returncode == 2 and "--edit-id" in proc.stderr, proc.stderr
    assert not out.exists()


def test_users_own_certificate(
    grid_clip: Path, grid_analysis: VideoAnalysis, tmp_path: Path
) -> None:
    cert, key = user_certificate(tmp_path)
    signing = SigningOptions(cert, key)
    out = edit_video(grid_clip, tmp_path / "signed.m4v", EmotionTarget.from_label("sad"),
                     EditOptions(provenance=ProvenanceOptions(signing=signing)),
                     analysis=grid_analysis).output  # fmt: skip
    code, data = _verify(out)
    assert code == 0
    assert data["manifest"]["status"] == "valid-untrusted-signer"
    assert "Test Studio signing" in data["manifest"]["signer"]
    # a key that is not the certificate's: refused before any work, nothing written
    (tmp_path / "o").mkdir()
    _, other_key = user_certificate(tmp_path / "o")
    proc = call_cli("edit", grid_clip, "-o", tmp_path / "x.mp4", "--emotion", "sad", "-q",
                    "--sign-cert", cert, "--sign-key", other_key)  # fmt: skip
    assert proc.returncode == 2 and not (tmp_path / "x.mp4").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".x")]


@pytest.mark.parametrize("name, options", [
    ("plain.mp4", ProvenanceOptions(manifest=False)),
    ("watermark_only.mkv", ProvenanceOptions()),
])  # fmt: skip
def test_watermark_without_manifest(
    grid_clip: Path, grid_analysis: VideoAnalysis, tmp_path: Path, name: str,
    options: ProvenanceOptions,
) -> None:  # fmt: skip
    result = edit_video(grid_clip, tmp_path / name, EmotionTarget.from_label("angry"),
                        EditOptions(provenance=options), analysis=grid_analysis)  # fmt: skip
    assert not result.signed
    found = verify_video(result.output)
    assert found.manifest.status.value == "none"
    assert found.watermark.found and found.watermark.payload is not None
    assert found.watermark.payload.edit_id_hex == result.edit_id
    assert found.verdict.value == 0


def test_same_edit_id_when_given(grid_clip: Path, grid_analysis: VideoAnalysis,
                                 tmp_path: Path) -> None:  # fmt: skip
    options = EditOptions(provenance=ProvenanceOptions(edit_id=0xABCDEF01),
                          encode=EncodeOptions(crf=23))  # fmt: skip
    result = edit_video(grid_clip, tmp_path / "a.mp4", EmotionTarget.from_label("happy"),
                        options, analysis=grid_analysis)  # fmt: skip
    assert result.edit_id == "abcdef01" and result.signed
    assert verify_video(result.output).manifest.record.edit_id == "abcdef01"  # type: ignore[union-attr]


@pytest.mark.slow
def test_watermark_survives_a_reupload(data_dir: Path, tmp_path: Path) -> None:
    """Edited real clip: re-encoded at CRF 28, downscaled to 360p, trimmed to 3 s, and all three;
    the unedited clip, re-encoded, shows no mark. (All clips: benchmarks/provenance.py.)"""
    clip = data_dir / "videos/videoretalking_face2_man_mapbg_844x844_speech.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} missing")
    out = edit_video(clip, tmp_path / "e.mp4", EmotionTarget.from_label("sad")).output
    for name, kwargs in [("crf28", {"crf": 28}), ("360p", {"height": 360}),
                         ("trim", {"trim_seconds": 3.0}),
                         ("all", {"crf": 28, "height": 360, "trim_seconds": 3.0})]:  # fmt: skip
        found = verify_video(attack(out, tmp_path / f"{name}.mp4", **kwargs))  # type: ignore[arg-type]
        assert found.manifest.status.value == "none"  # the re-encode dropped the manifest
        assert found.watermark.found, (name, found.watermark.z)
    clean = verify_video(attack(clip, tmp_path / "clean.mp4", crf=28))
    assert not clean.watermark.found
