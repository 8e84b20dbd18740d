"""Who signs the manifest: the user's own certificate and key, or a local default made once.

Order: ``--sign-cert``/``--sign-key`` (``SigningOptions.cert``/``key``); else a ``[signing]``
table in ``CONFIG_DIR/config.toml`` (``cert = "..."``, ``key = "..."``); else the default signer
in ``CONFIG_DIR/default-signer.pem``, created on first use: an EC P-256 key, a small local root
certificate and a signing certificate it issued (C2PA refuses a bare self-signed end-entity
certificate). Such a signature proves that the file is unchanged since it was signed, and that
it was signed with that key; it does not prove who holds the key: no trust list knows it.

``CONFIG_DIR`` is ``$EMODIRECTOR_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/emodirector``, else
``~/.config/emodirector``.
"""

from __future__ import annotations

import contextlib
import datetime
import getpass
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from emodirector.errors import InputNotFoundError, InvalidOptionError, OutputError
from emodirector.files import temp_beside

#: File of the default signer: private key, signing certificate, local root certificate (PEM).
DEFAULT_SIGNER_FILE = "default-signer.pem"
#: The user's config file.
CONFIG_FILE = "config.toml"
#: Common name of the default signing certificate (the user name is appended).
DEFAULT_SIGNER_NAME = "emodirector local signer"
#: Validity of the default certificates.
_VALID_DAYS = 3650


def config_dir() -> Path:
    """The user's emodirector config folder (not created here)."""
    env = os.environ.get("EMODIRECTOR_CONFIG_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "emodirector"


@dataclass(frozen=True)
class SigningOptions:
    """Where the signing certificate and key come from.

    Attributes:
        cert: PEM file of the signing certificate, followed by its chain (issuers), or None.
        key: PEM file of the matching private key, or None. ``cert`` and ``key`` go together.
        config_dir: Folder of ``config.toml`` and the default signer (``config_dir()`` if
            None).
    """

    cert: Path | None = None
    key: Path | None = None
    config_dir: Path | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise InvalidOptionError("give both a signing certificate and its key, or neither")


@dataclass(frozen=True)
class SignerCredentials:
    """A certificate chain and private key, ready for C2PA.

    Attributes:
        chain_pem: The signing certificate then its issuers, PEM.
        key_pem: The private key, PEM (PKCS#8).
        alg: C2PA signing algorithm name (``es256``, ``es384``, ``es512``, ``ps256``,
            ``ed25519``).
        is_default: The locally created default signer (not the user's own certificate).
        source: Where it was read from, for messages.
    """

    chain_pem: bytes
    key_pem: bytes
    alg: str
    is_default: bool
    source: Path

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the signing certificate (DER), hex."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        cert = x509.load_pem_x509_certificates(self.chain_pem)[0]
        return cert.fingerprint(hashes.SHA256()).hex()


def _read(path: Path, what: str) -> bytes:
    if not path.is_file():
        raise InputNotFoundError(f"{what} {path}: no such file")
    return path.read_bytes()


def _alg_for(key: object) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in algs:
            return algs[key.curve.name]
        raise InvalidOptionError(f"EC curve {key.curve.name} is not one C2PA signs with")
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise InvalidOptionError(f"unsupported signing key type {type(key).__name__}")


def load_credentials(cert: Path, key: Path, *, is_default: bool = False) -> SignerCredentials:
    """Read a PEM certificate chain and its PEM private key, and check that they match.

    Raises:
        InputNotFoundError: A file is missing.
        InvalidOptionError: Not PEM, no certificate, encrypted key, or the key is not the
            certificate's.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    chain = _read(cert, "signing certificate")
    key_data = _read(key, "signing key")
    try:
        certs = x509.load_pem_x509_certificates(chain)
    except ValueError:
        raise InvalidOptionError(f"{cert}: not a PEM certificate") from None
    try:
        private = serialization.load_pem_private_key(key_data, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidOptionError(f"{key}: not an unencrypted PEM private key ({exc})") from None
    public = private.public_key().public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if (
        certs[0]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        != public
    ):
        raise InvalidOptionError(f"{key} is not the private key of the certificate in {cert}")
    pkcs8 = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    return SignerCredentials(pem, pkcs8, _alg_for(private), is_default, cert)


def _name(common_name: str) -> object:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "emodirector (self-issued)"),
        ]
    )


def create_default_signer(path: Path) -> None:
    """Write a new key, local root certificate and signing certificate to ``path`` (mode 0600).

    The file holds the private key, then the signing certificate, then the root. It is written
    to a temporary file and renamed, so that two processes creating it at once leave one
    consistent file.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    until = now + datetime.timedelta(days=_VALID_DAYS)

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=not sign,
            crl_sign=not sign, encipher_only=False, decipher_only=False,
        )  # fmt: skip

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"emodirector local root ({user})")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)  # type: ignore[arg-type]
        .issuer_name(root_name)  # type: ignore[arg-type]
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{DEFAULT_SIGNER_NAME} ({user})"))  # type: ignore[arg-type]
        .issuer_name(root_name)  # type: ignore[arg-type]
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem += leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(
        serialization.Encoding.PEM
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = temp_beside(path)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError, UnboundLocalError):
            temp.unlink()
        raise OutputError(
            f"cannot create the default signing key in {path.parent} ({exc}); set "
            "EMODIRECTOR_CONFIG_DIR, give --sign-cert/--sign-key, or pass --no-manifest"
        ) from None


def _default_credentials(folder: Path) -> SignerCredentials:
    path = folder / DEFAULT_SIGNER_FILE
    if not path.is_file():
        create_default_signer(path)
    data = path.read_bytes()
    start = data.index(b"-----BEGIN CERTIFICATE-----")
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(data[:start], password=None)
    return SignerCredentials(data[start:], data[:start], _alg_for(private), True, path)


def _configured(folder: Path) -> tuple[Path, Path] | None:
    path = folder / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        table = tomllib.loads(path.read_text()).get("signing", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidOptionError(f"{path}: not valid TOML ({exc})") from None
    cert, key = table.get("cert"), table.get("key")
    if cert is None and key is None:
        return None
    if not isinstance(cert, str) or not isinstance(key, str):
        raise InvalidOptionError(f"{path}: [signing] needs both cert and key, as paths")
    return (folder / Path(cert).expanduser(), folder / Path(key).expanduser())


def resolve_credentials(options: SigningOptions) -> SignerCredentials:
    """The credentials ``options`` name, else the config file's, else the default signer.

    Raises:
        InputNotFoundError, InvalidOptionError: See ``load_credentials``.
        OutputError: The default signer cannot be created in the config folder.
    """
    if options.cert is not None and options.key is not None:
        return load_credentials(options.cert, options.key)
    folder = options.config_dir or config_dir()
    configured = _configured(folder)
    if configured is not None:
        return load_credentials(*configured)
    return _default_credentials(folder)


__all__ = [
    "SignerCredentials",
    "SigningOptions",
    "config_dir",
    "create_default_signer",
    "load_credentials",
    "resolve_credentials",
]
