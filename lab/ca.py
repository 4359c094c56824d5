"""The lab CA: one CA, server certificates it signs for 127.0.0.1/localhost, and client certificates (mTLS).

Clients trust the CA bundle (ca.pem); nothing in the lab turns verification off.
"""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "medimaging lab CA"
DEFAULT_SANS = ("localhost", "127.0.0.1")


def _write_private(path, data):
    """Key files are 0600 from their first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_key(path):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def _load_cert(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _san_entries(names):
    entries = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


class LabCA:
    """A CA kept in `directory` (ca.pem, ca.key). ensure() is idempotent: an existing CA is reused."""

    def __init__(self, directory):
        self.directory = os.path.abspath(directory)
        self.cert_path = os.path.join(self.directory, "ca.pem")
        self.key_path = os.path.join(self.directory, "ca.key")

    def ensure(self, days=3650):
        if os.path.exists(self.cert_path) and os.path.exists(self.key_path):
            return False
        os.makedirs(self.directory, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        _write_private(self.key_path, _key_pem(key))
        with open(self.cert_path, "wb") as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
        return True

    def issue_server_cert(self, name, sans=DEFAULT_SANS, days=825):
        """Write <name>.pem (leaf + CA chain) and <name>.key; reuse them while they still cover `sans`."""
        cert_path, key_path = self._paths(name)
        if os.path.exists(cert_path) and os.path.exists(key_path) and self._covers(cert_path, sans):
            return cert_path, key_path
        return self._issue_leaf(name, sans[0], ExtendedKeyUsageOID.SERVER_AUTH, days,
                                x509.SubjectAlternativeName(_san_entries(sans)))

    def issue_client_cert(self, name, common_name=None, days=825):
        """Write <name>.pem (leaf + CA chain) and <name>.key for TLS client authentication (a DICOM SCU, mTLS).

        Extended key usage CLIENT_AUTH only: a server certificate is refused as a client's (and vice versa).
        Reused while valid for at least another day.
        """
        cert_path, key_path = self._paths(name)
        if os.path.exists(cert_path) and os.path.exists(key_path):
            existing = _load_cert(cert_path)
            if existing.not_valid_after_utc > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1):
                return cert_path, key_path
        return self._issue_leaf(name, common_name or name, ExtendedKeyUsageOID.CLIENT_AUTH, days)

    def _paths(self, name):
        return os.path.join(self.directory, f"{name}.pem"), os.path.join(self.directory, f"{name}.key")

    def _issue_leaf(self, name, common_name, usage, days, subject_alt_names=None):
        """A new EC key and a certificate for one extended key usage, signed by this CA; files as _paths(name)."""
        cert_path, key_path = self._paths(name)
        ca_key, ca_cert = _load_key(self.key_path), _load_cert(self.cert_path)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(ca_cert.subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=days)))
        if subject_alt_names is not None:
            builder = builder.add_extension(subject_alt_names, critical=False)
        cert = (builder
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        _write_private(key_path, _key_pem(key))
        with open(cert_path, "wb") as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
            handle.write(ca_cert.public_bytes(serialization.Encoding.PEM))
        return cert_path, key_path

    @staticmethod
    def _covers(cert_path, sans):
        cert = _load_cert(cert_path)
        if cert.not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1):
            return False
        try:
            present = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return False
        names = {str(v) for v in present.get_values_for_type(x509.DNSName)}
        names |= {str(v) for v in present.get_values_for_type(x509.IPAddress)}
        return set(sans) <= names
