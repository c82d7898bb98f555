"""The component's entry point: componentize-py exports ``WitWorld``
(``python -m baton_sdk.build bots/feedback/suggestion``)."""

from baton_sdk import export_bot

from .bot import SuggestionBot

WitWorld = export_bot(SuggestionBot)
