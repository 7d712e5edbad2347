"""Vigie's entry points: the ``vigie`` command line and the runtime settings."""
