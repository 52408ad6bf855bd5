"""Tenancy: who may see which shop's rows. The one place that scopes querysets by caller.

Every shop-owned model's queryset is a ``ShopScopedQuerySet`` and names the path from the model to its shop
in ``tenancy_path``. Views, filtersets, related fields and the admin all call ``for_caller``; nobody filters
by shop by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class CallerRole(models.TextChoices):
    PLATFORM = "platform"
    INTEGRATION = "integration"
    OWNER = "owner"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    NONE = "none"


@dataclass(frozen=True)
class Caller:
    """What a user may reach: ``shop_ids`` is ``None`` for platform staff (every shop)."""

    user_id: int | None
    role: str
    shop_ids: frozenset[int] | None
    agent_id: int | None = None

    @property
    def is_platform(self) -> bool:
        return self.shop_ids is None

    @property
    def is_shop_manager(self) -> bool:
        """Owners and supervisors see and manage the whole shop."""
        return self.role in (CallerRole.OWNER, CallerRole.SUPERVISOR)

    def can_reach(self, shop_id: int) -> bool:
        return self.shop_ids is None or shop_id in self.shop_ids


NOBODY = Caller(user_id=None, role=CallerRole.NONE, shop_ids=frozenset())


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
    from agents.models import Agent
    from shops.models import IntegrationClient

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


class ShopScopedQuerySet(models.QuerySet):
    """A queryset that can narrow itself to what a caller may see."""

    def for_caller(self, caller: Caller):
        if caller.shop_ids is None:
            return self
        if not caller.shop_ids:
            return self.none()
        path = self.model.tenancy_path
        return self.filter(**{f"{path}__in": caller.shop_ids})

    def for_user(self, user):
        return self.for_caller(caller_for(user))
