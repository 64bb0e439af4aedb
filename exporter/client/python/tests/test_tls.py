"""TLS and basic auth against the exporter's own --web.config.file (exporter-toolkit)."""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
import urllib.request
import warnings
from pathlib import Path
from typing import Iterator

import pytest

import opscentre
from conftest import Exporter, metric_value, missing


def bcrypt_hash(password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # libxcrypt's bcrypt; the lowest cost keeps each request cheap

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


@pytest.fixture
def tls_exporter(tmp_path: Path) -> Iterator[Exporter]:
    if shutil.which("openssl") is None:
        missing("openssl", "apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    web = tmp_path / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        f"basic_auth_users:\n  app: '{bcrypt_hash('s3cret')}'\n"
    )
    e = Exporter(tmp_path, args=[f"--web.config.file={web}"], scheme="https")
    e.start()
    e.cert = cert  # type: ignore[attr-defined]
    yield e
    e.stop()


def scrape(e: Exporter) -> str:
    ctx = ssl.create_default_context(cafile=str(e.cert))  # type: ignore[attr-defined]
    req = urllib.request.Request(e.url + "/metrics")
    req.add_header("Authorization", "Basic " + base64.b64encode(b"app:s3cret").decode())
    with urllib.request.urlopen(req, context=ctx) as r:
        return r.read().decode()  # type: ignore[no-any-return]


def test_https_with_a_ca_file_and_basic_auth(tls_exporter: Exporter, model: str) -> None:
    e = tls_exporter
    with opscentre.Client(e.url, model=model, basic_auth=("app", "s3cret"), ca_file=str(e.cert)) as c:
        for i in range(25):
            c.log_prediction({"x": i}, "a", id=i)
        c.log_label(3, "a")
        assert c.flush(10)
        assert c.stats().sent == 26
    assert metric_value(scrape(e), "aiops_events_total", model=model) == 25
    # verify=False accepts the self-signed certificate without the CA file.
    with opscentre.Client(e.url, model=model, basic_auth=("app", "s3cret"), verify=False) as c:
        c.log_prediction({"x": 1}, "a")
        assert c.flush(10) and c.stats().sent == 1
    # Without the CA the certificate is refused; a wrong password is a 401, not retried.
    for kwargs in (dict(basic_auth=("app", "s3cret")), dict(basic_auth=("app", "wrong"), ca_file=str(e.cert))):
        with opscentre.Client(e.url, model=model, max_retries=1, min_backoff=0.01, **kwargs) as c:  # type: ignore[arg-type]
            c.log_prediction({"x": 1}, "a")
            assert c.flush(10)
            st = c.stats()
        assert (st.sent, st.failed) == (0, 1)
        assert st.retries == (1 if "ca_file" not in kwargs else 0)
    assert metric_value(scrape(e), "aiops_events_total", model=model) == 26
