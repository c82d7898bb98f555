"""The component's entry point: componentize-py exports `WitWorld`."""

from baton_sdk import export_bot

from .bot import Open

WitWorld = export_bot(Open)
