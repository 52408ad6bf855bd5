"""The project's model serializer: what every API serializer of a model shares.

- Times are accepted only in the range of ``backoffice.validators.validate_moment``.
- A read-only choice field of a model field that may be blank documents (and answers) ``""`` as a valid value.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers

from backoffice.validators import validate_moment


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
