"""Pagination: page numbers for bounded lists, cursors for unbounded ones (messages, conversations, ...)."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class CursorPagination(pagination.CursorPagination):
    """Stable under inserts and O(1) per page on big tables; ``ordering`` is set by the view."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-pk"


class MessageCursorPagination(CursorPagination):
    ordering = ("sent_at", "id")


class StartedCursorPagination(CursorPagination):
    ordering = ("-started_at", "-id")
