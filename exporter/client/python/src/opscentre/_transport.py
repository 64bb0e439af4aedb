"""One HTTP connection to the exporter, kept alive between requests.

http.client rather than urllib: urllib opens a connection per request, which would cost
more than encoding a batch. The connection is used by one thread only (the sender, or a
set_reference call that makes its own).
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import ssl
import time
import urllib.parse
from typing import Dict, Iterable, Mapping, NamedTuple, Optional, Tuple, Union

Body = Union[bytes, Iterable[bytes]]


class Response(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport:
    """Posts to one exporter base URL over a persistent connection."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        headers: Optional[Mapping[str, str]] = None,
        basic_auth: Optional[Tuple[str, str]] = None,
        bearer_token: Optional[str] = None,
        verify: bool = True,
        ca_file: Optional[str] = None,
    ) -> None:
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"url must be http(s)://host[:port][/prefix], got {url!r}")
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port
        self.prefix = u.path.rstrip("/")
        self.timeout = timeout
        self.headers: Dict[str, str] = {"User-Agent": "opscentre-python/0.1"}
        if headers:
            self.headers.update(headers)
        if basic_auth is not None:
            raw = f"{basic_auth[0]}:{basic_auth[1]}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        if bearer_token is not None:
            self.headers["Authorization"] = "Bearer " + bearer_token
        self.ssl_context: Optional[ssl.SSLContext] = None
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=ca_file)
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self.ssl_context = ctx
        self._conn: Optional[http.client.HTTPConnection] = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.ssl_context is not None:
                self._conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=self.ssl_context
                )
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def request(
        self,
        method: str,
        path: str,
        body: Body,
        headers: Mapping[str, str],
        max_response: int = 1 << 20,
    ) -> Response:
        """Sends one request; raises OSError / http.client.HTTPException on network failure."""
        h = dict(self.headers)
        h.update(headers)
        if self._conn is not None and isinstance(body, (bytes, bytearray)):
            # A kept-alive connection the server has since closed fails before any answer;
            # the server never read the request, so sending it once more on a new
            # connection cannot duplicate it (Go's net/http does the same).
            try:
                return self._once(method, path, body, h, max_response)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                pass
        return self._once(method, path, body, h, max_response)

    def _once(self, method: str, path: str, body: Body, h: Dict[str, str], max_response: int) -> Response:
        conn = self._connect()
        try:
            chunked = not isinstance(body, (bytes, bytearray))
            conn.request(method, self.prefix + path, body=body, headers=h, encode_chunked=chunked)
            resp = conn.getresponse()
            data = resp.read(max_response)
            if not resp.isclosed():
                # An answer larger than we read: drop the connection rather than read on.
                self.close()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        except BaseException:
            self.close()
            raise


def retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
