"""``python -m ecgtk`` runs the CLI."""

from ecgtk.cli import app

app()
