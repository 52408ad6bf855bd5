"""Tenancy for the API: scoped views, related fields and filters, all built on ``for_caller``."""

from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from rest_framework import serializers

from backoffice.callers import caller_for
from backoffice.tenancy import NOBODY
from backoffice.validators import validate_day, validate_moment

from .serializers import ModelSerializer


def shop_id_of(obj) -> int | None:
    """The shop an object belongs to, by its model's ``tenancy_path``; ``None`` for platform-wide objects."""
    path = getattr(type(obj), "tenancy_path", None)
    if path is None:
        return None
    if path == "pk":
        return obj.pk
    current = obj
    parts = path.split("__")
    for part in parts[:-1]:
        current = getattr(current, part)
    return getattr(current, f"{parts[-1]}_id")


def caller_default_shop(caller, shop=None):
    """The shop a request is about: the one it names, else the caller's only shop (``None`` when ambiguous)."""
    if shop is not None:
        return shop
    if caller.shop_ids is not None and len(caller.shop_ids) == 1:
        from shops.models import Shop

        return Shop.objects.get(pk=next(iter(caller.shop_ids)))
    return None


class ScopedViewMixin:
    """Every queryset a view uses is narrowed to what the caller may see; another shop's id is a 404."""

    @cached_property
    def caller(self):
        return caller_for(self.request.user) if self.request else NOBODY

    def get_queryset(self):
        return super().get_queryset().for_caller(self.caller)

    def lookup_url_kwarg_present(self) -> bool:
        """Whether the URL addresses one object (its permission is then checked after the lookup)."""
        return (self.lookup_url_kwarg or self.lookup_field) in self.kwargs


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A writable relation that only accepts objects the caller may see; anything else is 'does not exist'."""

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        caller = caller_for(request.user) if request else NOBODY
        return queryset.for_caller(caller) if hasattr(queryset, "for_caller") else queryset.none()


class ScopedModelSerializer(ModelSerializer):
    """Scoped relations everywhere, and every related object must belong to the object's own shop."""

    serializer_related_field = ScopedPrimaryKeyRelatedField
    same_shop_message = _("Must belong to the same shop.")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        shop = attrs.get("shop") or getattr(self.instance, "shop", None)
        if shop is None:
            return attrs
        errors = {}
        for name, value in attrs.items():
            if name == "shop":
                continue
            values = value if isinstance(value, list | tuple) else [value]
            for item in values:
                item_shop = shop_id_of(item) if hasattr(item, "_meta") else None
                if item_shop is not None and item_shop != shop.pk:
                    errors[name] = [self.same_shop_message]
                    break
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ScopedFilterSet(filters.FilterSet):
    """Model choice filters offer and accept only objects the caller may see; time filters take sane times only."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        caller = caller_for(request.user) if request is not None else NOBODY
        for flt in self.filters.values():
            if isinstance(flt, filters.DateTimeFilter):
                flt.extra["validators"] = [*flt.extra.get("validators", ()), validate_moment]
            elif isinstance(flt, filters.DateFilter):
                flt.extra["validators"] = [*flt.extra.get("validators", ()), validate_day]
            if isinstance(flt, filters.ModelChoiceFilter | filters.ModelMultipleChoiceFilter):
                base = flt.queryset.model._default_manager.all()
                flt.queryset = base.for_caller(caller) if hasattr(base, "for_caller") else base.none()
