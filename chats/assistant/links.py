"""The phishing guard: links in buyer messages that point outside the platform."""

import re

from django.conf import settings

# A URL with a scheme, or a bare host name with a dot and a letter-only top-level domain.
_LINK = re.compile(
    r"(?:https?://)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})(?::\d+)?(?:[/?#][^\s]*)?",
    re.IGNORECASE,
)


def link_domains(text: str) -> list[str]:
    return [match.group(1).lower().rstrip(".") for match in _LINK.finditer(text)]


def domain_allowed(domain: str) -> bool:
    return any(domain == allowed or domain.endswith("." + allowed) for allowed in settings.PLATFORM_LINK_ALLOWLIST)


def has_suspicious_link(text: str) -> bool:
    """Whether the text holds a link to a domain off the platform allow-list."""
    return any(not domain_allowed(domain) for domain in link_domains(text))
