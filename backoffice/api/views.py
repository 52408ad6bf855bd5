"""Base viewsets: scoped reads, writes that go through one service call."""

from rest_framework import mixins, viewsets

from .tenancy import ScopedViewMixin


class ScopedGenericViewSet(ScopedViewMixin, viewsets.GenericViewSet):
    """Reads are scoped to the caller; ``create_instance``/``update_instance`` call the app's service."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = self.create_instance(dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = self.update_instance(serializer.instance, dict(serializer.validated_data))

    def create_instance(self, data: dict):
        raise NotImplementedError

    def update_instance(self, instance, data: dict):
        raise NotImplementedError


class ReadCreateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedGenericViewSet
):
    pass


class ReadCreateUpdateViewSet(mixins.UpdateModelMixin, ReadCreateViewSet):
    pass
