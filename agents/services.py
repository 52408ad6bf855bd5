"""Writes about agents (sub-accounts) and routing groups."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.errors import InvalidInput, NotAllowed
from backoffice.tenancy import Caller, CallerRole
from events.choices import Audience, EventType
from events.outbox import event_emit
from shops.models import Shop
from shops.services import shop_create

from .choices import AgentRole, AutoReplyTrigger, PhraseScope
from .models import Agent, AutoReplyRule, QuickPhrase, RoutingGroup
from .payloads import agent_payload, with_payload_fields


def _check_password(password: str, user) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages), field="password") from error


def agent_check_may_manage(*, caller: Caller, agent: Agent | None = None, role: str | None = None) -> None:
    """Whether ``caller`` may create a sub-account of ``role`` (``agent`` None) or change ``agent`` (to ``role``).

    Only owners and platform staff create an owner, change an owner's account or give someone the owner role.
    """
    touches_owner = role == AgentRole.OWNER or (agent is not None and agent.role == AgentRole.OWNER)
    if touches_owner and caller.role not in (CallerRole.OWNER, CallerRole.PLATFORM):
        raise NotAllowed(_("Only the shop owner may create or change an owner account."))


@transaction.atomic
def agent_create(
    *,
    shop: Shop,
    username: str,
    password: str,
    display_name: str,
    role: str = Agent._meta.get_field("role").default,
    capacity: int = Agent._meta.get_field("capacity").default,
    routing_groups: Iterable[RoutingGroup] = (),
) -> Agent:
    """Create the login and the sub-account together; either both exist afterwards or neither."""
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("This username is already taken."), field="username")
    user = User(username=username)
    _check_password(password, user)
    user.set_password(password)
    user.save()
    agent = Agent(user=user, shop=shop, display_name=display_name, role=role, capacity=capacity)
    agent.full_clean()
    agent.save()
    agent.routing_groups.set(routing_groups)
    return agent


@transaction.atomic
def agent_update(*, agent: Agent, password: str | None = None, routing_groups=None, **fields) -> Agent:
    """Change a sub-account (what more room does to the queue: ``chats.routing.agent_changes.agent_update``)."""
    agent = Agent.objects.select_for_update().select_related("user").get(pk=agent.pk)
    for name, value in fields.items():
        setattr(agent, name, value)
    agent.full_clean()
    agent.save()
    if password:
        _check_password(password, agent.user)
        agent.user.set_password(password)
        agent.user.save(update_fields=["password"])
    if routing_groups is not None:
        agent.routing_groups.set(routing_groups)
    return agent


@transaction.atomic
def agent_status_change(*, agent: Agent, status: str, now=None) -> tuple[Agent, str | None]:
    """Change an agent's status under its row lock; returns the locked agent and the status it had, or ``None``
    when it already had ``status`` (then nothing changes, not even ``status_changed_at``).

    What a status change does to chats (the event log, the queue, waiting buyers) is
    ``chats.routing.agent_changes.agent_set_status``, which calls this. A change emits ``agent.status_changed`` with
    the agent as the API renders it, seen by the agent and the shop's managers.
    """
    # The lock's read brings what the event shows too (login, groups); only the agent's row is locked.
    agent = with_payload_fields(Agent.objects.select_for_update(of=("self",))).get(pk=agent.pk)
    if agent.status == status:
        return agent, None
    previous = agent.status
    agent.status = status
    agent.status_changed_at = now or timezone.now()
    agent.full_clean()
    agent.save(update_fields=["status", "status_changed_at"])
    event_emit(
        type=EventType.AGENT_STATUS_CHANGED,
        shop_id=agent.shop_id,
        agent_id=agent.pk,
        audience=Audience.AGENT,
        data=agent_payload(agent),
        at=agent.status_changed_at,
    )
    return agent, previous


def agent_presence_touch(*, agent_id: int, at=None) -> None:
    """Record that a live connection of the agent is open (or just closed) now: one UPDATE, no lock."""
    Agent.objects.filter(pk=agent_id).update(last_seen_at=at or timezone.now())


def _routing_changed(shop_id: int) -> None:
    Shop.objects.filter(pk=shop_id).update(routing_version=F("routing_version") + 1)


def _group_save(group: RoutingGroup, members) -> RoutingGroup:
    clash = RoutingGroup.objects.filter(shop=group.shop, name__iexact=group.name).exclude(pk=group.pk)
    if clash.exists():
        raise InvalidInput(_("A routing group with this name already exists in this shop."), field="name")
    if group.is_default:
        # One default group per shop: making this one the default takes the flag from the previous one.
        RoutingGroup.objects.filter(shop=group.shop, is_default=True).exclude(pk=group.pk).update(is_default=False)
    group.full_clean()
    group.save()
    _routing_changed(group.shop_id)
    if members is not None:
        group.members.set(members)
    return group


@transaction.atomic
def routing_group_create(*, members: Iterable[Agent] = (), **fields) -> RoutingGroup:
    """A routing group (what its members' room does to the queue: ``chats.routing.agent_changes``)."""
    return _group_save(RoutingGroup(**fields), list(members))


@transaction.atomic
def routing_group_update(*, group: RoutingGroup, members=None, **fields) -> RoutingGroup:
    group = RoutingGroup.objects.select_for_update().get(pk=group.pk)
    for name, value in fields.items():
        setattr(group, name, value)
    return _group_save(group, members)


@transaction.atomic
def routing_group_delete(*, group: RoutingGroup) -> None:
    _routing_changed(group.shop_id)
    group.delete()


# --- Workbench: quick phrases and auto-reply rules ------------------------------------------------------------


def _team_allowed(shop: Shop, field: str) -> None:
    if not shop.subaccounts_enabled:
        raise InvalidInput(_("Team versions need the shop's sub-accounts switched on."), field=field)


def caller_agent(caller: Caller) -> Agent | None:
    """The caller's own sub-account (``None`` for platform staff and integration clients)."""
    return Agent.objects.filter(pk=caller.agent_id).first() if caller.agent_id else None


def caller_manages_team(caller: Caller) -> bool:
    """Team versions (phrases, auto-replies) are managed by owners, supervisors and platform staff."""
    return caller.is_platform or caller.is_shop_manager


_MANAGE_REFUSALS = {
    QuickPhrase: (
        gettext_lazy("Only owners and supervisors manage team phrases."),
        gettext_lazy("Personal phrases belong to the one who creates them."),
    ),
    AutoReplyRule: (
        gettext_lazy("Only owners and supervisors manage the team's auto-replies."),
        gettext_lazy("You may manage only your own personal auto-replies."),
    ),
}


def workbench_check_may_manage(*, caller: Caller, model: type, agent_id: int | None) -> None:
    """Whether ``caller`` may create or change a team version (``agent_id`` None) or ``agent_id``'s personal one."""
    if caller.is_platform:
        return
    team_refusal, personal_refusal = _MANAGE_REFUSALS[model]
    if agent_id is None:
        if not caller_manages_team(caller):
            raise NotAllowed(team_refusal)
    elif agent_id != caller.agent_id:
        raise NotAllowed(personal_refusal)


def quick_phrase_check(*, phrase: QuickPhrase) -> None:
    """The rules of saving a phrase without writing: for forms that report them as field errors."""
    if phrase.scope == PhraseScope.TEAM:
        _team_allowed(phrase.shop, "scope")
        phrase.owner = None
    elif phrase.owner is None:
        raise InvalidInput(_("A personal phrase needs its owner."), field="owner")
    elif phrase.owner.shop_id != phrase.shop_id:
        raise InvalidInput(_("Must belong to the same shop."), field="owner")
    clash = QuickPhrase.objects.filter(shop_id=phrase.shop_id, scope=phrase.scope, shortcut=phrase.shortcut)
    if phrase.scope == PhraseScope.PERSONAL:
        clash = clash.filter(owner_id=phrase.owner_id)
    if clash.exclude(pk=phrase.pk).exists():
        raise InvalidInput(_("A phrase with this shortcut already exists here."), field="shortcut")


def _phrase_save(phrase: QuickPhrase) -> QuickPhrase:
    quick_phrase_check(phrase=phrase)
    phrase.full_clean()
    phrase.save()
    return phrase


@transaction.atomic
def quick_phrase_create(
    *,
    shop: Shop,
    scope: str,
    shortcut: str,
    content: str,
    owner: Agent | None = None,
    title: str = "",
    category: str = "",
) -> QuickPhrase:
    """A team phrase (sub-accounts on) or a personal phrase of ``owner``."""
    phrase = QuickPhrase(
        shop=shop, scope=scope, owner=owner, shortcut=shortcut.strip(), title=title, content=content, category=category
    )
    return _phrase_save(phrase)


@transaction.atomic
def quick_phrase_update(*, phrase: QuickPhrase, **fields) -> QuickPhrase:
    """Change a phrase's shortcut, title, content or category (scope, owner and shop stay)."""
    phrase = QuickPhrase.objects.select_for_update(of=("self",)).select_related("shop").get(pk=phrase.pk)
    for name in ("shortcut", "title", "content", "category"):
        if name in fields:
            setattr(phrase, name, fields[name].strip() if name == "shortcut" else fields[name])
    return _phrase_save(phrase)


@transaction.atomic
def quick_phrase_delete(*, phrase: QuickPhrase) -> None:
    phrase.delete()


def quick_phrase_use(*, phrase: QuickPhrase) -> QuickPhrase:
    """Count one use (one UPDATE, so concurrent uses are all counted)."""
    QuickPhrase.objects.filter(pk=phrase.pk).update(usage_count=F("usage_count") + 1, last_used_at=timezone.now())
    phrase.refresh_from_db(fields=["usage_count", "last_used_at"])
    return phrase


def auto_reply_rule_check(*, rule: AutoReplyRule) -> None:
    """The rules of saving a rule without writing: for forms that report them as field errors."""
    if rule.agent_id is None:
        _team_allowed(rule.shop, "agent")
    elif rule.agent.shop_id != rule.shop_id:
        raise InvalidInput(_("Must belong to the same shop."), field="agent")
    if rule.trigger == AutoReplyTrigger.OVER_CAPACITY and rule.threshold is None:
        raise InvalidInput(_("Give the number of active chats above which this reply is sent."), field="threshold")
    if rule.trigger != AutoReplyTrigger.OVER_CAPACITY:
        rule.threshold = None
    clash = AutoReplyRule.objects.filter(shop_id=rule.shop_id, trigger=rule.trigger, agent_id=rule.agent_id)
    if clash.exclude(pk=rule.pk).exists():
        raise InvalidInput(_("There is already a rule for this trigger here; change that one."), field="trigger")


def _rule_save(rule: AutoReplyRule) -> AutoReplyRule:
    auto_reply_rule_check(rule=rule)
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def auto_reply_rule_create(
    *,
    shop: Shop,
    trigger: str,
    content: str,
    agent: Agent | None = None,
    threshold: int | None = None,
    enabled: bool = True,
) -> AutoReplyRule:
    """A team rule (no agent; sub-accounts on) or an agent's personal rule, which wins over the team's."""
    return _rule_save(
        AutoReplyRule(shop=shop, agent=agent, trigger=trigger, content=content, threshold=threshold, enabled=enabled)
    )


@transaction.atomic
def auto_reply_rule_update(*, rule: AutoReplyRule, **fields) -> AutoReplyRule:
    """Change a rule's content, threshold or switch it on or off (shop, agent and trigger stay)."""
    rule = AutoReplyRule.objects.select_for_update(of=("self",)).select_related("shop", "agent").get(pk=rule.pk)
    for name in ("content", "threshold", "enabled"):
        if name in fields:
            setattr(rule, name, fields[name])
    return _rule_save(rule)


@transaction.atomic
def auto_reply_rule_delete(*, rule: AutoReplyRule) -> None:
    rule.delete()


def default_auto_reply_texts() -> dict[str, str]:
    """The platform's suggested texts, in the active language."""
    return {
        AutoReplyTrigger.FIRST_MESSAGE_OF_DAY: _("Hello, welcome! I'm reading your message and will answer shortly."),
        AutoReplyTrigger.AGENT_BUSY: _("Sorry, I'm busy right now; I'll answer you as soon as I can."),
        AutoReplyTrigger.AGENT_AWAY: _("I'm away for a moment; I'll be back to answer you shortly."),
        AutoReplyTrigger.OVER_CAPACITY: _(
            "Many buyers are asking right now; thank you for waiting, I'll be with you soon."
        ),
    }


DEFAULT_OVER_CAPACITY_THRESHOLD = 5


@transaction.atomic
def auto_reply_defaults_create(*, shop: Shop, agent: Agent | None = None) -> list[AutoReplyRule]:
    """Add the suggested rules the shop (or an agent) can switch on, switched off; existing rules stay as they are.

    Without sub-accounts there are no team rules, so nothing is added for the team.
    """
    if agent is not None and agent.shop_id != shop.pk:
        raise InvalidInput(_("Must belong to the same shop."), field="agent")
    if agent is None and not shop.subaccounts_enabled:
        return []
    existing = set(AutoReplyRule.objects.filter(shop=shop, agent=agent).values_list("trigger", flat=True))
    created = []
    for trigger, content in default_auto_reply_texts().items():
        if trigger in existing:
            continue
        threshold = DEFAULT_OVER_CAPACITY_THRESHOLD if trigger == AutoReplyTrigger.OVER_CAPACITY else None
        created.append(
            AutoReplyRule.objects.create(
                shop=shop, agent=agent, trigger=trigger, content=content, threshold=threshold, enabled=False
            )
        )
    return created


@transaction.atomic
def shop_create_with_auto_reply_defaults(**fields) -> Shop:
    """A new shop, with its team's suggested auto-replies ready to be switched on (the shops app knows no agents)."""
    shop = shop_create(**fields)
    auto_reply_defaults_create(shop=shop)
    return shop
