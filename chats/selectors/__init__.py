"""Read-side queries about chats: the queue, monitoring (response figures per chat) and staffing."""

from .queue import queue_position_expression
from .turns import turns_out_of_sync

__all__ = ["queue_position_expression", "turns_out_of_sync"]
