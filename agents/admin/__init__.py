"""Admin for the agents app, one module per feature; importing them registers their admins."""

from .agents import AgentAddForm, AgentAdmin, AgentChangeForm, AgentOwnerRuleMixin, RoutingGroupChoiceField
from .auto_replies import AutoReplyRuleAdmin, AutoReplyRuleAdminForm, TeamOrPersonalFilter
from .forms import WorkbenchAdminForm
from .groups import RoutingGroupAdmin, RoutingGroupAdminForm
from .phrases import PhraseConfirmImportForm, PhraseImportForm, QuickPhraseAdmin, QuickPhraseAdminForm

__all__ = [
    "AgentAddForm",
    "AgentAdmin",
    "AgentChangeForm",
    "AgentOwnerRuleMixin",
    "AutoReplyRuleAdmin",
    "AutoReplyRuleAdminForm",
    "PhraseConfirmImportForm",
    "PhraseImportForm",
    "QuickPhraseAdmin",
    "QuickPhraseAdminForm",
    "RoutingGroupAdmin",
    "RoutingGroupAdminForm",
    "RoutingGroupChoiceField",
    "TeamOrPersonalFilter",
    "WorkbenchAdminForm",
]
