"""The project's model serializer: what every API serializer of a model shares.

- Times are accepted between 2000-01-01 and 2100-01-01 (UTC): nothing in this business happened earlier, and far
  dates would come back with historic local offsets (``+08:05:43``) that are not valid ISO 8601 / RFC 3339.
- A read-only choice field of a model field that may be blank documents (and answers) ``""`` as a valid value.
"""

from datetime import UTC, datetime

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class BoundedDateTimeField(serializers.DateTimeField):
    default_error_messages = {"out_of_range": _("Must be between 2000-01-01 and 2100-01-01.")}

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if not EARLIEST <= moment < LATEST:
            self.fail("out_of_range")
        return moment


class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: BoundedDateTimeField,
    }

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        # DRF drops ``allow_blank`` from fields made read-only by ``read_only_fields``: keep it for choices.
        blank_choice = bool(kwargs.get("allow_blank") and "choices" in kwargs)
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if blank_choice and kwargs.get("read_only"):
            kwargs["allow_blank"] = True
        return kwargs
