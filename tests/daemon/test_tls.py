"""`coope daemon --tls-cert --tls-key` serves HTTPS (and WSS) with the given certificate."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers import DaemonProcess


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.slow
async def test_daemon_serves_https(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    daemon = DaemonProcess(tmp_path / "data", "--tls-cert", str(cert), "--tls-key", str(key))
    daemon.start()
    try:
        assert daemon.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession() as http:
            async with http.get(daemon.url + "/api/v1/health", ssl=trusted) as response:
                assert (await response.json())["status"] == "ok"
            # A client that does not trust the certificate is refused.
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                async with http.get(daemon.url + "/api/v1/health"):
                    pass
        assert daemon.terminate() == 0
    finally:
        daemon.kill()
