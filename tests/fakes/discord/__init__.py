"""A fake Discord (REST + gateway on 127.0.0.1) for end-to-end tests with the real discord.py.

Modules: models (typed records), payloads (wire JSON), validation (400/50035 & co), ratelimit
(buckets, headers, 429s), state (world + mutations), http (routing plumbing), rest (bot routes),
interactions (callback + interaction webhooks), gateway (websocket), cdn (files members attach,
on signed expiring links), control (injected interactions), building (world-building control
API), server (FakeDiscord and the rest of its control API).
"""
