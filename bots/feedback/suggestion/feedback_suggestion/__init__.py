"""The bot of the feedback metaservice's ``suggestion`` tickets, in Python.

One component serves both non-terminal states:

- ``1 open`` (:mod:`.open`): checks the suggestion; one with text goes to
  ``2 triaged``, an empty one to ``4 declined``.
- ``2 triaged`` (:mod:`.triaged`): hands it to the manifest's
  ``triage_group``; a member accepts it, then presses ``implement``
  (``3 done``) or ``decline`` (``4 declined``, with a reason); the creator
  is told either way.

:mod:`.bot` dispatches by state, :mod:`.suggestion` reads the metadata,
:mod:`.app` is the component's entry point.
"""

from .bot import SuggestionBot

__all__ = ["SuggestionBot"]
