"""What the service assistant and the system say to buyers when a shop has not set its own text."""

from django.utils.translation import gettext as _

from shops.models import Shop


def greeting(shop: Shop) -> str:
    return shop.bot_greeting or _("Hello, I am the shop's service assistant. How can I help you?")


def fallback(shop: Shop) -> str:
    return shop.bot_fallback_text or _(
        "Sorry, I did not quite understand. You can rephrase your question, or ask for a human agent."
    )


def clarification(shop: Shop, questions: list[str]) -> str:
    lines = [_("Did you mean one of these? Reply with its number, or ask in other words:")]
    lines += [f"{number}. {question}" for number, question in enumerate(questions, start=1)]
    return "\n".join(lines)


def queued(shop: Shop, position: int) -> str:
    template = shop.queue_message or _("All agents are busy. You are number {position} in the queue; please wait.")
    return template.replace("{position}", str(position))


def offline(shop: Shop) -> str:
    return shop.offline_message or _("No agent is online right now. Please leave a message and we will reply soon.")


def busy(shop: Shop) -> str:
    return shop.busy_message or _("All agents are busy right now. Please try again in a moment.")


def assigned(agent_name: str) -> str:
    return _("Agent %(name)s is now serving you.") % {"name": agent_name}


def transferred(agent_name: str) -> str:
    return _("Your chat has been transferred to agent %(name)s.") % {"name": agent_name}
