"""Tenancy: who may see which shop's rows. The one place that scopes querysets by caller.

Every shop-owned model's queryset is a ``ShopScopedQuerySet`` and names the path from the model to its shop
in ``tenancy_path``. Views, filtersets, related fields and the admin all call ``for_caller``; nobody filters
by shop by hand. Which caller a user is (``caller_for``) is looked up in ``backoffice.callers``: this module imports
no app, so every app's models can use it.
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


class ShopScopedQuerySet(models.QuerySet):
    """A queryset that can narrow itself to what a caller may see."""

    def for_caller(self, caller: Caller):
        if caller.shop_ids is None:
            return self
        if not caller.shop_ids:
            return self.none()
        path = self.model.tenancy_path
        return self.filter(**{f"{path}__in": caller.shop_ids})
