"""Throwaway certificates and keys for the local control plane, written once per state dir."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVICE_IP = "10.0.0.1"
_SERVING_DNS = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
_SERVING_IPS = ("127.0.0.1", SERVICE_IP)
_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class Pki:
    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def ca_cert(self) -> Path:
        return self.path("ca.crt")

    @property
    def serving_cert(self) -> Path:
        return self.path("apiserver.crt")

    @property
    def serving_key(self) -> Path:
        return self.path("apiserver.key")

    @property
    def admin_cert(self) -> Path:
        return self.path("admin.crt")

    @property
    def admin_key(self) -> Path:
        return self.path("admin.key")

    @property
    def controller_manager_cert(self) -> Path:
        return self.path("kube-controller-manager.crt")

    @property
    def controller_manager_key(self) -> Path:
        return self.path("kube-controller-manager.key")

    @property
    def service_account_key(self) -> Path:
        return self.path("sa.key")

    @property
    def service_account_pub(self) -> Path:
        return self.path("sa.pub")


def _write(path: Path, data: bytes, private: bool) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    usage: ExtendedKeyUsageOID,
    san: x509.SubjectAlternativeName | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _generate(pki: Pki) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = _name("cogumi-dev-ca")
    ca_cert = (
        _builder(ca_subject, ca_subject, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    san = x509.SubjectAlternativeName(
        [x509.DNSName(d) for d in _SERVING_DNS] + [x509.IPAddress(ipaddress.ip_address(i)) for i in _SERVING_IPS]
    )
    issued = {
        "apiserver": _issue(ca_key, ca_cert, _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, san),
        "admin": _issue(ca_key, ca_cert, _name("admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH),
        # With --use-service-account-credentials=false every controller acts as this identity, and the
        # bootstrap system:kube-controller-manager role lacks the deletes that the garbage collector and
        # the namespace controller need, hence system:masters (this is a throwaway local cluster).
        "kube-controller-manager": _issue(
            ca_key, ca_cert, _name("system:kube-controller-manager", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH
        ),
    }
    sa_key = ec.generate_private_key(ec.SECP256R1())
    # Keys first and the CA certificate last: its presence marks a complete set.
    for stem, (key, cert) in issued.items():
        _write(pki.path(f"{stem}.key"), _key_pem(key), private=True)
        _write(pki.path(f"{stem}.crt"), cert.public_bytes(serialization.Encoding.PEM), private=False)
    _write(pki.service_account_key, _key_pem(sa_key), private=True)
    _write(
        pki.service_account_pub,
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        private=False,
    )
    _write(pki.path("ca.key"), _key_pem(ca_key), private=True)
    _write(pki.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), private=False)


def ensure_pki(state_dir: Path) -> Pki:
    """Create the CA, serving/client certificates and service-account keys unless already present."""
    pki = Pki(state_dir / "pki")
    wanted = (
        pki.serving_cert,
        pki.serving_key,
        pki.admin_cert,
        pki.admin_key,
        pki.controller_manager_cert,
        pki.controller_manager_key,
        pki.service_account_key,
        pki.service_account_pub,
        pki.ca_cert,
    )
    if not all(p.is_file() for p in wanted):
        pki.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _generate(pki)
    return pki


def write_kubeconfig(path: Path, server: str, pki: Pki, user: str, cert: Path, key: Path) -> None:
    """A kubeconfig with the CA and the client credentials embedded (no file references)."""

    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "cogumi-dev", "cluster": {"server": server, "certificate-authority-data": b64(pki.ca_cert)}}
        ],
        "users": [{"name": user, "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)}}],
        "contexts": [
            {"name": "cogumi-dev", "context": {"cluster": "cogumi-dev", "user": user, "namespace": "default"}}
        ],
        "current-context": "cogumi-dev",
        "preferences": {},
    }
    _write(path, yaml.safe_dump(config, sort_keys=False).encode(), private=True)
