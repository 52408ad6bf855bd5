"""Rating invites, evaluations and daily metrics live here (evaluations and metrics issues)."""
