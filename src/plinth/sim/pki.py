"""Certificates and keys of a simulated cluster, made locally with ``cryptography``.

One CA signs the API server's serving certificate and the client certificates of the admin, the
controller-manager, the scheduler and kwok; a second CA (front proxy) signs the aggregator's client
certificate; an RSA key pair signs and verifies service-account tokens.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=365)
SERVICE_IP = "10.96.0.1"
GATEWAY_IP = "169.254.1.1"
"""The cluster namespace's address as the programs' pod networks see it (on its loopback, the default route of every
pod network): the API server listens on it, and so do the sources Argo CD reads."""
"""First address of the service range: the ``kubernetes`` Service's ClusterIP, named in the serving cert."""

CLIENTS: dict[str, tuple[str, str | None]] = {
    "admin": ("plinth-sim-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "kwok": ("plinth-sim-kwok", "system:masters"),
}
"""Client certificates: file stem -> (common name = user, organisation = group)."""


@dataclass(frozen=True)
class Pki:
    """Paths of the files a cluster's processes read."""

    folder: Path

    def path(self, name: str) -> Path:
        """A file of the PKI folder, e.g. ``ca.crt`` or ``admin.key``."""
        return self.folder / name


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organisation: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organisation:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    return x509.Name(attributes)


def _write_key(key, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _ca(common_name: str, now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(ca_key, ca_cert: x509.Certificate, subject: x509.Name, now: dt.datetime, *, server: bool,
          dns: list[str] = (), ips: list[str] = ()) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if dns or ips:
        names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def make_pki(folder: Path) -> Pki:
    """Write a fresh CA, serving and client certificates and service-account keys into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    now = dt.datetime.now(dt.timezone.utc)
    ca_key, ca_cert = _ca("plinth-sim-ca", now)
    _write_key(ca_key, folder / "ca.key")
    _write_cert(ca_cert, folder / "ca.crt")

    dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
    key, cert = _leaf(ca_key, ca_cert, _name("kube-apiserver"), now, server=True, dns=dns, ips=["127.0.0.1", GATEWAY_IP, SERVICE_IP])
    _write_key(key, folder / "apiserver.key")
    _write_cert(cert, folder / "apiserver.crt")

    for stem, (user, group) in CLIENTS.items():
        key, cert = _leaf(ca_key, ca_cert, _name(user, group), now, server=False)
        _write_key(key, folder / f"{stem}.key")
        _write_cert(cert, folder / f"{stem}.crt")

    proxy_key, proxy_cert = _ca("plinth-sim-front-proxy-ca", now)
    _write_key(proxy_key, folder / "front-proxy-ca.key")
    _write_cert(proxy_cert, folder / "front-proxy-ca.crt")
    key, cert = _leaf(proxy_key, proxy_cert, _name("front-proxy-client"), now, server=False)
    _write_key(key, folder / "front-proxy-client.key")
    _write_cert(cert, folder / "front-proxy-client.crt")

    service_account = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(service_account, folder / "sa.key")
    (folder / "sa.pub").write_bytes(
        service_account.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return Pki(folder)
