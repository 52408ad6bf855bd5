"""A chat's life: starting it, its messages (the one writer of ``Message`` rows), ending it, the service-event log,
and who may act on a chat."""
