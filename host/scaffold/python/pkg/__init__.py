"""The bot of `{{name}}/request`."""
