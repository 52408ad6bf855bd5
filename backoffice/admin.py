"""Admin building blocks every app's admin uses: tenancy scoping, scoped filters, and pagination for big tables.

Tenancy in the admin goes through the same ``caller_for`` / ``for_caller`` mechanism as the API: a staff user
with a sub-account (a shop owner given admin access) sees only their shop; platform staff see every shop.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.forms.models import BaseInlineFormSet
from django.utils.functional import cached_property

from backoffice.callers import caller_for
from backoffice.tenancy import Caller

# How many rows a changelist counts at most when it cannot use the planner's estimate. Past this, pages are
# still reachable by filtering; an exact COUNT(*) over millions of messages would cost more than the page.
COUNT_CAP = 10_000


def table_row_estimate(model, using: str) -> int | None:
    """The planner's row estimate for ``model``'s table (PostgreSQL ``pg_class.reltuples``), or ``None``."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(model._meta.db_table)],
        )
        row = cursor.fetchone()
    # -1 (PostgreSQL 14+) or 0 means the table was never analysed: no usable estimate.
    if row is None or row[0] is None or row[0] <= 0:
        return None
    return int(row[0])


def _reads_whole_table(queryset) -> bool:
    query = queryset.query
    return not (query.has_filters() or query.is_sliced or query.distinct or query.combinator or query.extra)


class EstimatedCountPaginator(Paginator):
    """A paginator that never runs an unbounded ``COUNT(*)``.

    An unfiltered queryset on PostgreSQL takes the planner's estimate when the table is big; anything else
    counts at most ``count_cap`` rows in a LIMIT subquery, so the count costs no more than reading the cap.
    """

    count_cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if _reads_whole_table(queryset):
            estimate = table_row_estimate(queryset.model, queryset.db)
            # Small tables are counted exactly: cheap, and an estimate would show a wrong total for no gain.
            if estimate is not None and estimate >= self.count_cap:
                return estimate
        # Ordering is irrelevant to a count and could force a sort of the whole table inside the subquery.
        return queryset.order_by()[: self.count_cap].count()


def scoped_queryset(queryset, caller: Caller):
    """``queryset`` narrowed to ``caller``; a model without tenancy (platform data) is for platform staff only."""
    if hasattr(queryset, "for_caller"):
        return queryset.for_caller(caller)
    return queryset if caller.is_platform else queryset.none()


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-object filter that offers only objects the user may see (the stock one lists every shop)."""

    def field_choices(self, field, request, model_admin):
        queryset = field.remote_field.model._default_manager.complex_filter(field.get_limit_choices_to())
        queryset = scoped_queryset(queryset, caller_for(request.user))
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        related_field = field.remote_field.get_related_field()
        return [(getattr(obj, related_field.attname), str(obj)) for obj in queryset]


class ScopedAdminMixin:
    """Everything an admin reads or offers is narrowed to the user's caller (``backoffice.tenancy``).

    Objects outside the scope are absent from changelists, autocomplete results (Django's autocomplete view
    asks the target admin's ``get_queryset``), related choices and filters; their change pages answer like a
    missing object. A term ``#42`` in the search box finds id 42 through the primary key index.
    """

    def get_queryset(self, request):
        return scoped_queryset(super().get_queryset(request), caller_for(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = self._scoped_choices(db_field, request, kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = self._scoped_choices(db_field, request, kwargs.get("using"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _scoped_choices(self, db_field, request, using):
        queryset = self.get_field_queryset(using, db_field, request)
        if queryset is None:
            queryset = db_field.remote_field.model._default_manager.using(using).all()
        # Related models without tenancy (the auth user) offer nothing to a shop's staff unless the admin
        # passes its own narrower queryset (as the agent admin does for logins).
        return scoped_queryset(queryset, caller_for(request.user))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        digits = term[1:]
        if term.startswith("#") and digits.isascii() and digits.isdigit() and len(digits) <= 18:
            return queryset.filter(pk=int(digits)), False
        return super().get_search_results(request, queryset, search_term)


class ScopedAdminForm(forms.ModelForm):
    """The base form of every admin here: it validates constraints over the ``fixed_fields`` too.

    Django leaves fields that are not on the form out of unique and constraint validation, so once ``shop`` is
    read-only a clash such as a second default group or a duplicate name per shop would reach the database
    as an IntegrityError (a 500) instead of a form error.
    """

    fixed_fields: tuple[str, ...] = ()

    def _get_validation_exclusions(self):
        exclusions = super()._get_validation_exclusions()
        return exclusions - {name for name in self.fixed_fields if name not in self.fields}


class ScopedModelAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The base of every admin here.

    ``platform_only_permissions`` names the permissions (view, add, change, delete) only platform staff get,
    whatever their Django permissions: e.g. shops are added by the platform, not by a shop's staff.
    ``fixed_after_creation`` fields are read-only once the object exists, because moving an object to
    another shop or login would leave its related rows pointing across shops.
    """

    form = ScopedAdminForm
    platform_only_permissions: tuple[str, ...] = ()
    fixed_after_creation: tuple[str, ...] = ()

    def _allowed_for_caller(self, request, permission: str) -> bool:
        return permission not in self.platform_only_permissions or caller_for(request.user).is_platform

    def has_view_permission(self, request, obj=None):
        return self._allowed_for_caller(request, "view") and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return self._allowed_for_caller(request, "add") and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed_for_caller(request, "change") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed_for_caller(request, "delete") and super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        return readonly + tuple(name for name in self.fixed_after_creation if name not in readonly)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.fixed_fields = self.fixed_after_creation if obj is not None else ()  # a fresh class per call
        return form

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        caller = caller_for(request.user)
        has_shop = any(field.name == "shop" and field.is_relation for field in self.opts.fields)
        # A shop's staff can only pick their own shop: preselect it.
        if has_shop and "shop" not in initial and caller.shop_ids is not None and len(caller.shop_ids) == 1:
            initial["shop"] = next(iter(caller.shop_ids))
        return initial


class BigTableModelAdmin(ScopedModelAdmin):
    """For tables that grow without bound (conversations, messages, orders, ...): no full count anywhere.

    No full-result count, no facet counts, and newest first by primary key (an index scan) rather than
    by a date column whose ordering would sort the whole table. ``date_hierarchy`` is left out on purpose:
    it runs MIN/MAX and DISTINCT date truncations over the whole table; date list filters cost nothing.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-pk",)


class CappedInlineFormSet(BaseInlineFormSet):
    """An inline formset that shows at most ``row_limit`` rows (``max_num`` does not limit existing rows)."""

    row_limit = 100

    def get_queryset(self):
        if not hasattr(self, "_capped_queryset"):
            self._capped_queryset = super().get_queryset()[: self.row_limit]
        return self._capped_queryset


class ReadOnlyTabularInline(ScopedAdminMixin, admin.TabularInline):
    """A view-only inline for long child lists: no add, change or delete, at most ``row_limit`` rows.

    Subclasses set ``fields`` and the same names in ``readonly_fields``.
    """

    formset = CappedInlineFormSet
    row_limit = 100
    extra = 0
    can_delete = False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.row_limit = self.row_limit  # a fresh class per call: safe to set
        return formset

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyModelAdmin(BigTableModelAdmin):
    """For facts recorded by the system or by buyers (messages, events, ratings): looked at, never edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
