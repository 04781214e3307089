"""``python -m reporter``: the same as the ``jwst-provenance`` command."""

from .cli import app

app(prog_name="jwst-provenance")
