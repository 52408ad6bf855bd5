"""Base viewset: scoped reads, writes that go through one service call.

Views narrow what they offer with ``http_method_names`` (e.g. ``READ_CREATE``), not with a zoo of mixin
combinations: the router then routes only the methods a view allows.
"""

from rest_framework import mixins, viewsets

from .tenancy import ScopedViewMixin

READ_CREATE = ["get", "post", "head", "options"]
READ_CREATE_UPDATE = ["get", "post", "patch", "head", "options"]
READ_WRITE = ["get", "post", "patch", "delete", "head", "options"]


class ServiceWriteMixin:
    """Writes call the app's service (``create_instance``/``update_instance``), never ``serializer.save()``.

    It comes first in the bases so these hooks win over DRF's mixins.
    """

    def perform_create(self, serializer):
        serializer.instance = self.create_instance(dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = self.update_instance(serializer.instance, dict(serializer.validated_data))

    def perform_destroy(self, instance):
        self.destroy_instance(instance)

    def create_instance(self, data: dict):
        raise NotImplementedError

    def update_instance(self, instance, data: dict):
        raise NotImplementedError

    def destroy_instance(self, instance):
        raise NotImplementedError


class ScopedModelViewSet(
    ServiceWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewMixin,
    viewsets.GenericViewSet,
):
    http_method_names = READ_CREATE_UPDATE
