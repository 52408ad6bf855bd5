"""Who may act on a chat: the access rules the API and admin check before calling a chat service."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from backoffice.errors import NotAllowed
from backoffice.tenancy import Caller, CallerRole

from ..models import Conversation

_REFUSALS = {
    "transfer": _("Agents may transfer only their own chats."),
    "close": _("Agents may close only their own chats."),
    "invite": _("Agents may invite ratings only for their own chats."),
}


def conversation_check_agent_acts(*, caller: Caller, conversation: Conversation, action: str) -> None:
    """Agents act only on the chats they serve (``action``: transfer, close or invite); other roles reached the
    chat through their scope already."""
    if caller.role == CallerRole.AGENT and conversation.agent_id != caller.agent_id:
        raise NotAllowed(str(_REFUSALS[action]))
