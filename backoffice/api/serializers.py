"""The project's model serializer: what every API serializer of a model shares.

- Times are accepted (in bodies and in filters: ``validate_moment``) between 2000-01-01 and 2100-01-01 (UTC) with
  a real-world UTC offset: nothing in this business happened earlier, far dates would come back with historic
  local offsets (``+08:05:43``) that are not valid RFC 3339, and the database refuses offsets beyond ±15:59.
- A read-only choice field of a model field that may be blank documents (and answers) ``""`` as a valid value.
"""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_OFFSET = timedelta(hours=14)  # the widest UTC offset in use (Kiribati); the database refuses far wider ones
OUT_OF_RANGE = _("Must be between 2000-01-01 and 2100-01-01.")
BAD_OFFSET = _("The UTC offset must be within ±14:00.")


def validate_moment(moment: datetime) -> None:
    """A time the API accepts, in a body or a filter: in 2000..2100 and with a real-world UTC offset."""
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise DjangoValidationError(BAD_OFFSET, code="bad_offset")
    if not EARLIEST <= moment < LATEST:
        raise DjangoValidationError(OUT_OF_RANGE, code="out_of_range")


class BoundedDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        try:
            validate_moment(moment)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages, code=error.code) from None
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
