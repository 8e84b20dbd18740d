"""Signing keys and the C2PA manifest: written by us, validated by c2pa's own reader."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import stat
from pathlib import Path

import av
import c2pa
import pytest

from emodirector.errors import InputNotFoundError, InvalidOptionError
from emodirector.provenance.manifest import (
    EditRecord,
    ManifestStatus,
    embed_manifest,
    read_manifest,
    sha256_file,
)
from emodirector.provenance.signing import (
    DEFAULT_SIGNER_FILE,
    SigningOptions,
    load_credentials,
    resolve_credentials,
)
from tests._media import frame_count

_MP4 = "videos/videoretalking_face3_woman_flagbg_590x590_speech.mp4"
#: Bytes added to the video data of the clip signed in the memory test (about 10 minutes of
#: 1080p output would be 104 MiB).
_PADDING = 64 << 20
#: Most the peak resident set may grow while signing that clip: a small fraction of the file
#: (a copy of the video data in memory grows it by 64 MiB; streamed it grows about 0.3 MiB).
_SIGNING_GROWTH_MIB = 8.0


def _record(src: Path) -> EditRecord:
    return EditRecord(
        description="facial expression changed: happy, intensity 0.8",
        direction="emotion happy@0.8",
        editor="prototype",
        version="0.1.0",
        edit_id="0badf00d",
        input_name=src.name,
        input_sha256=sha256_file(src),
    )


def user_certificate(folder: Path, name: str = "Test Studio signing") -> tuple[Path, Path]:
    """A user's own certificate (issued by their own CA, with RSA keys), chain and key files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    later = now + datetime.timedelta(days=30)

    def cert(subject: str, issuer: str, key: rsa.RSAPrivateKey, signer: rsa.RSAPrivateKey,
             ca: bool) -> x509.Certificate:  # fmt: skip
        usage = x509.KeyUsage(not ca, False, False, False, False, ca, ca, False, False)
        b = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(later)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
            .add_extension(usage, True)
        )  # fmt: skip
        if not ca:
            eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION])
            b = b.add_extension(eku, False).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
            )
        return b.sign(signer, hashes.SHA256())

    ca_key = rsa.generate_private_key(65537, 2048)
    key = rsa.generate_private_key(65537, 2048)
    chain = [cert(name, "Test Studio CA", key, ca_key, False),
             cert("Test Studio CA", "Test Studio CA", ca_key, ca_key, True)]  # fmt: skip
    cert_path, key_path = folder / "chain.pem", folder / "key.pem"
    cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


@pytest.fixture()
def mp4(data_dir: Path, tmp_path: Path) -> Path:
    src = data_dir / _MP4
    if not src.is_file():
        pytest.skip(f"{_MP4} missing")
    dst = tmp_path / "edited.mp4"
    shutil.copy(src, dst)
    return dst


def test_default_signer_is_made_once_and_private(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    first = resolve_credentials(SigningOptions(config_dir=folder))
    assert first.is_default and first.alg == "es256"
    path = folder / DEFAULT_SIGNER_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = resolve_credentials(SigningOptions(config_dir=folder))
    assert again.fingerprint == first.fingerprint  # reused, not made anew
    assert [p.name for p in folder.iterdir()] == [DEFAULT_SIGNER_FILE]  # no temporary left


def test_config_file_names_the_users_certificate(tmp_path: Path) -> None:
    cert, key = user_certificate(tmp_path)
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "config.toml").write_text(f'[signing]\ncert = "{cert}"\nkey = "{key}"\n')
    creds = resolve_credentials(SigningOptions(config_dir=folder))
    assert not creds.is_default and creds.source == cert
    assert not (folder / DEFAULT_SIGNER_FILE).exists()


def test_bad_user_credentials_are_refused(tmp_path: Path) -> None:
    cert, key = user_certificate(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, other_key = user_certificate(other)
    with pytest.raises(InvalidOptionError, match="not the private key"):
        load_credentials(cert, other_key)
    with pytest.raises(InputNotFoundError):
        load_credentials(tmp_path / "missing.pem", key)
    with pytest.raises(InvalidOptionError, match="not a PEM certificate"):
        load_credentials(key, key)
    with pytest.raises(InvalidOptionError, match="both"):
        SigningOptions(cert=cert)


def test_manifest_validates_with_c2pas_reader(mp4: Path, tmp_path: Path) -> None:
    record = _record(mp4)
    embed_manifest(mp4, record, resolve_credentials(SigningOptions(config_dir=tmp_path / "c")))
    with open(mp4, "rb") as f, c2pa.Reader("video/mp4", f) as reader:
        assert reader.get_validation_state() in ("Valid", "Trusted")
        store = json.loads(reader.json())
    active = store["manifests"][store["active_manifest"]]
    actions = next(a for a in active["assertions"] if a["label"].startswith("c2pa.actions"))
    names = [a["action"] for a in actions["data"]["actions"]]
    assert names == ["c2pa.opened", "c2pa.edited"]
    check = read_manifest(mp4)
    assert check.status is ManifestStatus.UNTRUSTED  # the self-issued default: valid, untrusted
    assert check.record == record
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_one_flipped_byte_in_the_video_data_invalidates(mp4: Path, tmp_path: Path) -> None:
    embed_manifest(mp4, _record(mp4), resolve_credentials(SigningOptions(config_dir=tmp_path)))
    data = bytearray(mp4.read_bytes())
    mdat = data.index(b"mdat")
    data[mdat + (len(data) - mdat) // 2] ^= 0x01
    mp4.write_bytes(bytes(data))
    check = read_manifest(mp4)
    assert check.status is ManifestStatus.INVALID
    assert "mismatch" in check.reason


def test_user_certificate_signs(mp4: Path, tmp_path: Path) -> None:
    cert, key = user_certificate(tmp_path)
    embed_manifest(mp4, _record(mp4), load_credentials(cert, key))
    check = read_manifest(mp4)
    assert check.status is ManifestStatus.UNTRUSTED  # valid; the CA is on no trust list
    assert "Test Studio signing" in check.signer


def test_no_manifest_and_unsupported_containers(mp4: Path, tmp_path: Path) -> None:
    assert read_manifest(mp4).status is ManifestStatus.NONE
    mkv = tmp_path / "x.mkv"
    shutil.copy(mp4, mkv)
    with pytest.raises(InvalidOptionError, match="cannot carry"):
        embed_manifest(mkv, _record(mp4), resolve_credentials(SigningOptions(config_dir=tmp_path)))


def test_unwritable_config_folder_is_a_one_line_output_error(tmp_path: Path) -> None:
    from emodirector.errors import OutputError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="--no-manifest"):
        resolve_credentials(SigningOptions(config_dir=blocker / "emodirector"))


def _peak_rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(ln for ln in status.splitlines() if ln.startswith("VmHWM")).split()[1]) / 1024


def _padded(mp4: Path, extra: int) -> None:
    """Grow ``mp4``'s one ``mdat`` box by ``extra`` zero bytes after its samples (the sample
    offsets, all before them, stay valid; the boxes after it move)."""
    data = mp4.read_bytes()
    at = data.index(b"mdat") - 4
    size = int.from_bytes(data[at : at + 4], "big")
    with open(mp4, "wb") as f:
        f.write(data[:at] + (size + extra).to_bytes(4, "big") + data[at + 4 : at + size])
        f.write(bytes(extra))
        f.write(data[at + size :])


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux peak RSS reset")
def test_signing_streams_the_video(mp4: Path, tmp_path: Path) -> None:
    credentials = resolve_credentials(SigningOptions(config_dir=tmp_path))
    big = tmp_path / "long.mp4"
    shutil.copy(mp4, big)
    _padded(big, _PADDING)
    embed_manifest(mp4, _record(mp4), credentials)  # the library loaded and warmed up
    Path("/proc/self/clear_refs").write_text("5")  # the peak restarts from the current RSS
    before = _peak_rss_mib()
    embed_manifest(big, _record(mp4), credentials)
    assert _peak_rss_mib() - before < _SIGNING_GROWTH_MIB
    assert read_manifest(big).status is ManifestStatus.UNTRUSTED
    assert frame_count(big) == frame_count(mp4)


def test_fragmented_mp4_is_signed_as_one_piece(mp4: Path, tmp_path: Path) -> None:
    fragmented = tmp_path / "fragmented.mp4"
    with (
        av.open(mp4) as src,
        av.open(fragmented, "w", options={"movflags": "frag_keyframe+empty_moov"}) as out,
    ):
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    embed_manifest(
        fragmented, _record(mp4), resolve_credentials(SigningOptions(config_dir=tmp_path))
    )
    assert read_manifest(fragmented).status is ManifestStatus.UNTRUSTED
