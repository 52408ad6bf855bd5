"""The form base of the quick-phrase and auto-reply admins: the services' save rules reported as form errors."""

from backoffice.admin import ScopedAdminForm
from backoffice.errors import InvalidInput


class WorkbenchAdminForm(ScopedAdminForm):
    """Runs the service's rules (team versions need sub-accounts, same shop) as form errors."""

    def _shop(self):
        return self.cleaned_data.get("shop") if "shop" in self.fields else self.instance.shop

    def _report(self, check, **probe) -> None:
        try:
            check(**probe)
        except InvalidInput as error:
            self.add_error(error.field if error.field in self.fields else None, str(error.message))
