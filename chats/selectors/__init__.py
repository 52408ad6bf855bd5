"""Read-side queries about chats: the queue, monitoring (response figures per chat) and staffing."""

from .queue import queue_position_expression

__all__ = ["queue_position_expression"]
