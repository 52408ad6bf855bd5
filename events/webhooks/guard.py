"""The SSRF guard: a webhook URL must be ``http(s)`` and resolve only to public addresses.

The host is resolved once per check (``host_resolve``, the one function tests replace, so they need no network) and
the POST connects to the address that was checked, never resolving again: a name whose DNS answer changes between
the check and the connection (DNS rebinding) cannot move the POST onto an internal address. Every address a name
resolves to must be public; one private answer refuses the URL. ``WEBHOOK_ALLOW_PRIVATE_NETWORKS`` (off in
production) lets tests and local receivers through.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from backoffice.errors import InvalidInput

SCHEMES = {"http": 80, "https": 443}


class WebhookURLRefused(InvalidInput):
    """A webhook URL the guard refuses (a 400 on the ``url`` field in the API)."""

    def __init__(self, message):
        super().__init__(message, field="url", code="webhook_url_refused")


@dataclass(frozen=True)
class WebhookTarget:
    """Where one POST goes: ``address`` is the checked IP to connect to; ``host`` goes into the Host header, TLS SNI
    and the certificate check."""

    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


def host_resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (system resolver), in its order; ``OSError`` when it does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(info[4][0] for info in infos))


def address_refusal(address: str) -> str | None:
    """Why a connection to ``address`` is refused (a short word for the message), or ``None`` if it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") names no other address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    checks = (
        ("is_unspecified", _("unspecified")),
        ("is_loopback", _("loopback")),
        ("is_link_local", _("link-local")),
        ("is_multicast", _("multicast")),
        ("is_private", _("private")),
        ("is_reserved", _("reserved")),
    )
    for attribute, word in checks:
        if getattr(ip, attribute):
            return word
    # Shared address space (100.64.0.0/10), 6to4 and Teredo forms of internal addresses and the like.
    return None if ip.is_global else _("non-public")


def webhook_target(url: str) -> WebhookTarget:
    """Check ``url`` and resolve its host; raises ``WebhookURLRefused`` with a message for the receiver's owner."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise WebhookURLRefused(_("Enter a valid URL.")) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise WebhookURLRefused(_("Only http and https URLs can receive webhooks."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookURLRefused(_("Enter a valid URL."))
    if parts.username is not None or parts.password is not None:
        raise WebhookURLRefused(_("Webhook URLs cannot carry a user name or password."))
    port = port or SCHEMES[scheme]
    addresses = _addresses(host, port)
    if not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        for address in addresses:
            refusal = address_refusal(address)
            if refusal is not None:
                raise WebhookURLRefused(
                    _("%(host)s resolves to %(address)s, a %(kind)s address: webhooks go to public addresses only.")
                    % {"host": host, "address": address, "kind": refusal}
                )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return WebhookTarget(scheme=scheme, host=host, port=port, address=addresses[0], path=path)


def webhook_url_check(url: str) -> None:
    """Raise ``WebhookURLRefused`` unless ``url`` may receive webhooks now."""
    webhook_target(url)


def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.split("%", 1)[0]))] if _is_ip_literal(host) else _resolved(host, port)
    except (OSError, UnicodeError, ValueError):
        raise WebhookURLRefused(_("The host %(host)s could not be resolved.") % {"host": host}) from None


def _resolved(host: str, port: int) -> list[str]:
    addresses = host_resolve(host, port)
    if not addresses:
        raise OSError("no address")
    return addresses


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
