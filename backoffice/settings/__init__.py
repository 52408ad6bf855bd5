"""Settings modules: ``base`` (production and local, from the environment) and ``test``."""
