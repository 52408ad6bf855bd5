"""The agent's follow-up work: follow-up tasks with reminders, notifications, and auto-replies."""
