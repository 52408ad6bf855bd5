"""Role rules of the API: platform staff everything, managers their shop, agents read and act on their own."""

from rest_framework import permissions

from backoffice.callers import caller_for
from backoffice.tenancy import CallerRole

MANAGERS = frozenset({CallerRole.OWNER, CallerRole.SUPERVISOR})
INTEGRATIONS = frozenset({CallerRole.INTEGRATION})
SHOP_STAFF = frozenset({CallerRole.OWNER, CallerRole.SUPERVISOR, CallerRole.AGENT})


class IsShopMember(permissions.BasePermission):
    """Authenticated and able to reach at least one shop (or all, for platform staff).

    Unsafe methods need the caller's role in the view's ``write_roles`` (or ``action_roles[action]``);
    platform staff always pass.
    """

    def has_permission(self, request, view) -> bool:
        caller = caller_for(request.user)
        if caller.role == CallerRole.NONE:
            return False
        if caller.is_platform:
            return True
        if view.lookup_url_kwarg_present():
            # Decided after the lookup, so another shop's id answers 404 rather than 403.
            return True
        return self._role_allows(caller, request, view)

    def has_object_permission(self, request, view, obj) -> bool:
        caller = caller_for(request.user)
        return caller.is_platform or self._role_allows(caller, request, view)

    @staticmethod
    def _role_allows(caller, request, view) -> bool:
        action = getattr(view, "action", None)
        action_roles = getattr(view, "action_roles", {})
        if action in action_roles:
            return caller.role in action_roles[action]
        if request.method in permissions.SAFE_METHODS:
            return True
        return caller.role in getattr(view, "write_roles", frozenset())
