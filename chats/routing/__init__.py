"""Routing chats to human agents: seats, the queue, transfers, and what agent changes do to them."""
