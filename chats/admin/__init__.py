"""The chats admin, one module per feature; importing each registers its model admins."""

from . import (
    assistant,  # noqa: F401 -- the FAQ knowledge base
    followup,  # noqa: F401 -- follow-up tasks, notifications, the auto-reply log
    lifecycle,  # noqa: F401 -- conversations, messages, turns, the service-event log
    supervision,  # noqa: F401 -- exports and the printable staffing plan
    wall,  # noqa: F401 -- the live supervision wall of a shop
)
