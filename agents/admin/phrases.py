"""Admin for quick phrases, with CSV/XLSX import into one shop and an export action."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportActionMixin, ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ConfirmImportForm, ImportForm

from backoffice.admin import ScopedModelAdmin, ScopedRelatedFieldListFilter
from backoffice.callers import caller_for
from shops.models import Shop

from ..choices import PhraseScope
from ..models import QuickPhrase
from ..resources import IMPORT_MAX_BYTES, QuickPhraseResource
from ..services import caller_agent, caller_manages_team, quick_phrase_check, quick_phrase_create, quick_phrase_update
from .forms import WorkbenchAdminForm


class PhraseImportForm(ImportForm):
    """The stock import form plus the shop the phrases go to (the file has no shop column)."""

    shop = forms.ModelChoiceField(label=_("shop"), queryset=Shop.objects.none())

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 1 MB."))
        return upload


class PhraseConfirmImportForm(ConfirmImportForm):
    shop = forms.ModelChoiceField(queryset=Shop.objects.none(), widget=forms.HiddenInput())


class QuickPhraseAdminForm(WorkbenchAdminForm):
    class Meta:
        model = QuickPhrase
        fields = "__all__"

    def clean(self):
        cleaned_data = super().clean()
        shop = self._shop()
        scope = cleaned_data.get("scope", self.instance.scope)
        owner = cleaned_data.get("owner", self.instance.owner if self.instance.pk else None)
        if shop is None or scope not in PhraseScope.values or self.errors:
            return cleaned_data
        shortcut = (cleaned_data.get("shortcut", self.instance.shortcut) or "").strip()
        probe = QuickPhrase(pk=self.instance.pk, shop=shop, scope=scope, owner=owner, shortcut=shortcut)
        self._report(quick_phrase_check, phrase=probe)
        return cleaned_data


@admin.register(QuickPhrase)
class QuickPhraseAdmin(ImportExportMixin, ExportActionMixin, ScopedModelAdmin):
    """Quick phrases; import a CSV/XLSX into one shop (team rows, or the importer's own personal ones)."""

    form = QuickPhraseAdminForm
    resource_classes = [QuickPhraseResource]
    import_formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]
    import_form_class = PhraseImportForm
    confirm_form_class = PhraseConfirmImportForm
    list_display = ("shortcut", "title", "shop", "scope", "owner", "category", "usage_count", "last_used_at")
    list_filter = ("scope", ("shop", ScopedRelatedFieldListFilter), "category")
    list_select_related = ("shop", "owner")
    search_fields = ("shortcut", "title", "content")
    search_help_text = _("Shortcut, title or content; #42 finds the phrase with id 42.")
    autocomplete_fields = ("shop", "owner")
    readonly_fields = ("usage_count", "last_used_at", "created_at", "updated_at")
    fixed_after_creation = ("shop", "scope", "owner")
    date_hierarchy = "created_at"

    def has_import_permission(self, request):
        # An import adds and changes phrases: the stock rule (anyone with admin access) is too loose.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def save_model(self, request, obj, form, change):
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
            quick_phrase_update(phrase=obj, **fields)
        else:
            created = quick_phrase_create(
                shop=obj.shop,
                scope=obj.scope,
                owner=obj.owner,
                shortcut=obj.shortcut,
                title=obj.title,
                content=obj.content,
                category=obj.category,
            )
            obj.pk = created.pk

    def create_import_form(self, request):
        form = super().create_import_form(request)
        form.fields["shop"].queryset = Shop.objects.for_caller(caller_for(request.user))
        return form

    def create_confirm_form(self, request, import_form=None):
        form = super().create_confirm_form(request, import_form)
        form.fields["shop"].queryset = Shop.objects.for_caller(caller_for(request.user))
        return form

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["shop"] = import_form.cleaned_data["shop"].pk
        return initial

    def get_import_resource_kwargs(self, request, **kwargs):
        caller = caller_for(request.user)
        form = kwargs.get("form")
        return {
            "shop": getattr(form, "cleaned_data", {}).get("shop"),
            "owner": caller_agent(caller),
            "manager": caller_manages_team(caller),
        }

    def get_export_resource_kwargs(self, request, **kwargs):
        return {}

    def get_valid_export_item_pks(self, request):
        # The library's default lists every phrase of every shop; the export itself is scoped anyway.
        return self.get_queryset(request).values_list("pk", flat=True)
