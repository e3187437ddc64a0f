"""The model side: an OpenAI-compatible streaming client and the tool loop.

Knows nothing of Discord or SQLite. Everything leaves this package as typed events.
"""
