"""The Temporal client reaches a secured cluster: TLS with the server's CA, mTLS, or an API key.

The risk: with no TLS settings, the only way to reach Temporal Cloud or an mTLS-protected frontend was to
put the frontend on the network in plaintext, where anyone on the path reads every payload's metadata
and every command, and anyone who reaches it acts on every dossier. Each mode is built from settings,
and the TLS and mTLS ones connect for real, through a TLS front that requires the client certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from workflows.client import connect, connect_options

SERVER_NAME = "temporal.dichvucong.test"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.now(UTC)
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A province CA, the frontend's certificate and a worker's client certificate, as PEM files."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Dossier tracker test CA", ca_key, None, ca=True)
    files: dict[str, Path] = {}

    def write(name: str, data: bytes) -> None:
        files[name] = folder / f"{name}.pem"
        files[name].write_bytes(data)

    write("ca", ca.public_bytes(serialization.Encoding.PEM))
    for who, subject in (("server", SERVER_NAME), ("client", "dossier-worker")):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(subject, key, ("Dossier tracker test CA", ca_key), ca=False)
        write(f"{who}-cert", cert.public_bytes(serialization.Encoding.PEM))
        write(
            f"{who}-key",
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
    return files


def settings_for(**values: Any) -> Settings:
    return Settings(_env_file=None, app_env="local", **values)  # type: ignore[call-arg]


def test_each_mode_builds_its_client_configuration(pki: dict[str, Path]) -> None:
    assert connect_options(settings_for()) == {"tls": False}

    server_ca = connect_options(
        settings_for(temporal_tls_server_ca_cert=pki["ca"], temporal_tls_server_name=SERVER_NAME)
    )
    assert server_ca == {"tls": TLSConfig(server_root_ca_cert=pki["ca"].read_bytes(), domain=SERVER_NAME)}

    mutual = connect_options(
        settings_for(
            temporal_tls_server_ca_cert=pki["ca"],
            temporal_tls_client_cert=pki["client-cert"],
            temporal_tls_client_key=pki["client-key"],
        )
    )
    assert mutual["tls"].client_cert == pki["client-cert"].read_bytes()
    assert mutual["tls"].client_private_key == pki["client-key"].read_bytes()
    assert "api_key" not in mutual

    cloud = connect_options(settings_for(temporal_api_key=SecretStr("tcld-key-for-tests")))
    assert cloud == {"tls": TLSConfig(), "api_key": "tcld-key-for-tests"}  # the system's roots

    system_roots = connect_options(settings_for(temporal_tls=True))
    assert system_roots == {"tls": TLSConfig()}


def test_a_client_certificate_without_its_key_is_refused(pki: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="go together"):
        settings_for(temporal_tls_client_cert=pki["client-cert"])


@contextlib.asynccontextmanager
async def tls_front(target: str, pki: dict[str, Path], *, require_client: bool) -> AsyncIterator[int]:
    """A TLS frontend (HTTP/2 by ALPN) before the dev server, as a secured cluster's would be."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki["server-cert"], pki["server-key"])
    context.set_alpn_protocols(["h2"])
    if require_client:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki["ca"])
    host, port = target.rsplit(":", 1)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_tls_and_mtls_connect_to_a_secured_frontend(
    workflow_env: WorkflowEnvironment, pki: dict[str, Path]
) -> None:
    target = workflow_env.client.service_client.config.target_host
    async with tls_front(target, pki, require_client=True) as port:
        secured = settings_for(
            temporal_address=f"127.0.0.1:{port}",
            temporal_namespace=workflow_env.client.namespace,
            temporal_tls_server_ca_cert=pki["ca"],
            temporal_tls_server_name=SERVER_NAME,
            temporal_tls_client_cert=pki["client-cert"],
            temporal_tls_client_key=pki["client-key"],
        )
        client = await connect(secured)
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        assert info.server_version

        without_certificate = secured.model_copy(
            update={"temporal_tls_client_cert": None, "temporal_tls_client_key": None}
        )
        with pytest.raises(RuntimeError) as refused:
            await connect(without_certificate)  # the frontend wants the worker's certificate
        print("without the client certificate →", str(refused.value)[:160])
