"""The one HTTP client of webhooks (urllib3): one POST to a checked address, bounded in time and in what it reads.

- It connects to ``WebhookTarget.address`` (the IP the SSRF guard checked) and sends the URL's host as the Host
  header and, for https, as TLS SNI and the name the certificate must carry.
- No redirect is followed (a 3xx is an answer like any other non-2xx) and nothing is retried here: retries are
  the delivery schedule's.
- Connect and answer share one ``timeout``; at most ``MAX_ANSWER_BYTES`` of the answer are read, then the
  connection is dropped rather than drained. Nothing is decompressed.
- Connections are kept alive per (address, port, host) in this process, one per pool: a Celery worker process
  delivers one batch at a time, and a batch goes to one subscription.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError

from .guard import WebhookTarget

MAX_ANSWER_BYTES = 64 * 1024
KEPT_BYTES = 1024  # of the answer, stored on the delivery
READ_CHUNK = 16 * 1024
MAX_POOLS = 64

_pools: OrderedDict[tuple, urllib3.HTTPConnectionPool] = OrderedDict()


@dataclass(frozen=True)
class PostResult:
    """What one POST gave: ``status`` is ``None`` when no answer came (then ``error`` says why)."""

    status: int | None
    body: bytes = b""  # the first KEPT_BYTES of the answer
    elapsed_ms: int = 0
    error: str = ""
    read_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def webhook_post(target: WebhookTarget, body: bytes, headers: dict[str, str], *, timeout: float) -> PostResult:
    """POST ``body`` to ``target``; never raises for network trouble (the result says what happened)."""
    pool = _pool(target)
    started = time.monotonic()
    deadline = started + timeout
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            retries=False,
            redirect=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(total=timeout),
            preload_content=False,
            decode_content=False,
            release_conn=False,
        )
    except (HTTPError, OSError) as error:
        return PostResult(status=None, elapsed_ms=_ms(started), error=_describe(error, timeout))
    head, read, complete = bytearray(), 0, False
    try:
        while read <= MAX_ANSWER_BYTES and time.monotonic() < deadline:
            chunk = response.read(min(READ_CHUNK, MAX_ANSWER_BYTES + 1 - read))
            if not chunk:
                complete = True
                break
            read += len(chunk)
            if len(head) < KEPT_BYTES:
                head += chunk[: KEPT_BYTES - len(head)]
    except (HTTPError, OSError):
        pass  # the status line and headers came: the answer counts, whatever happened to its body
    finally:
        if complete:
            response.release_conn()  # fully read: the connection can carry the next POST
        else:
            response.close()  # unread bytes would corrupt the next answer on this connection
            response.release_conn()
    return PostResult(status=response.status, body=bytes(head), elapsed_ms=_ms(started), read_bytes=read)


def pools_clear() -> None:
    """Close every kept connection (tests, and a process about to fork)."""
    while _pools:
        _pools.popitem()[1].close()


def _pool(target: WebhookTarget) -> urllib3.HTTPConnectionPool:
    key = (target.scheme, target.address, target.port, target.host)
    pool = _pools.get(key)
    if pool is not None:
        _pools.move_to_end(key)
        return pool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            maxsize=1,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            server_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, maxsize=1, retries=False)
    _pools[key] = pool
    while len(_pools) > MAX_POOLS:
        _pools.popitem(last=False)[1].close()
    return pool


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(error: Exception, timeout: float) -> str:
    # NewConnectionError is a ConnectTimeoutError too (urllib3 keeps it so): ask for it first.
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return f"could not connect: {_reason(error)}"
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(error, urllib3.exceptions.SSLError):
        return f"TLS error: {_reason(error)}"
    return f"{error.__class__.__name__}: {_reason(error)}"


def _reason(error: Exception) -> str:
    text = str(error)
    # urllib3 prefixes the connection object's repr ("<HTTPConnection(...)>: Failed to ..."); keep the reason.
    return text.split(">: ", 1)[-1][:200]
