"""HTTPS through the guard: the request goes to the vetted IP literal, yet TLS still checks
the certificate against the original hostname (SNI + verification via server_hostname)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import aiohttp
import pytest

from bot.llm.tools import ToolContext, ToolError
from bot.tools.fetch_url import make_fetch_url_tool
from tests.tools.conftest import LoopbackOnlyConnector, ServerFactory, fake_resolver

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def _fetch_https(tmp_path: Path, start_server: ServerFactory, asked_host: str) -> str:
    cert, key = _certificate(tmp_path, "secure.test")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    server = await start_server(ssl_context=server_ctx)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    resolver = fake_resolver({asked_host: ["127.0.0.1"]})
    connector = LoopbackOnlyConnector(ssl=client_ctx)
    async with aiohttp.ClientSession(connector=connector) as session:
        tool = make_fetch_url_tool(session, allowlist=("127.0.0.1/32",), resolver=resolver)
        result: str = await tool.handler(
            ToolContext(), url=f"https://{asked_host}:{server.port}/echo"
        )
    assert connector.attempts == ["127.0.0.1"]
    return result


async def test_fetch_url_https_verifies_certificate_for_original_host(
    tmp_path: Path, start_server: ServerFactory
) -> None:
    result = await _fetch_https(tmp_path, start_server, "secure.test")
    assert '"host": "secure.test:' in result


async def test_fetch_url_https_certificate_for_another_host_fails(
    tmp_path: Path, start_server: ServerFactory
) -> None:
    with pytest.raises(ToolError, match=r"TLS certificate of other\.test could not be verified"):
        await _fetch_https(tmp_path, start_server, "other.test")
