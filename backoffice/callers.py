"""Who a user is to the back office (``caller_for``): the sub-account and integration-client look-ups.

Used by the API (``backoffice.api``) and the admin, the entry points; ``backoffice.tenancy`` (``Caller``,
``ShopScopedQuerySet``) imports no app, so the apps' models depend on it and not on this module.
"""

from __future__ import annotations

from agents.models import Agent
from shops.models import IntegrationClient

from .tenancy import NOBODY, Caller, CallerRole


def caller_for(user) -> Caller:
    """Resolve (and cache on the user object) what ``user`` may reach.

    A user with a sub-account is scoped to its shop even when it is staff (a shop's staff in the admin);
    an integration client to its shops; other staff and superusers are platform operations (all shops).
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    cached = getattr(user, "_tenancy_caller", None)
    if cached is not None:
        return cached
    caller = NOBODY
    agent = Agent.objects.filter(user_id=user.pk).only("pk", "shop_id", "role").first()
    if agent is not None:
        caller = Caller(user.pk, agent.role, frozenset([agent.shop_id]), agent.pk)
    elif user.is_superuser:
        caller = Caller(user.pk, CallerRole.PLATFORM, None)
    else:
        client = IntegrationClient.objects.filter(user_id=user.pk).first()
        if client is not None:
            caller = Caller(user.pk, CallerRole.INTEGRATION, frozenset(client.shops.values_list("pk", flat=True)))
        elif user.is_staff:
            caller = Caller(user.pk, CallerRole.PLATFORM, None)
    user._tenancy_caller = caller
    return caller
