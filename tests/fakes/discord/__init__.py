"""A fake Discord (REST + gateway on 127.0.0.1) for end-to-end tests with the real discord.py.

Modules: models (typed records), payloads (wire JSON), validation (400/50035 & co), ratelimit
(buckets, headers, 429s, the hidden per-channel rename limit), state (world + mutations), http
(routing plumbing), rest (bot routes: commands, messages, replies), history (paging channel
history), channels (channel and thread settings, new threads), interactions (callback +
interaction webhooks), gateway (websocket), cdn (files members attach, on signed expiring
links), control (injected interactions: slash, user and message commands, clicks), building
(world-building control API), reading (reading-back control API), faults (429s, 5xx answers and
held responses on purpose), shards (events routed by shard, identifies paced by
max_concurrency), server (FakeDiscord and the rest of its control API).
"""
