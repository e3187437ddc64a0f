"""Running as some of a bot's Discord shards, beside other processes running the rest.

- `claims`: a process claims its shard ids for as long as it lives, so a second process
  started with the same ids is refused instead of answering every message twice.
- `identify`: shards IDENTIFY no faster than Discord's `max_concurrency` per 5 s, across
  every process of the bot.
- `commands_sync`: slash commands are synced only when they changed, by the process that
  runs shard 0.

The locks are OS file locks in one folder (next to the SQLite database): held while the
process lives, dropped by the OS when it dies (even on SIGKILL), so a crashed process never
blocks the one that replaces it. They reach every process on one host (containers too, with
the folder on a shared volume). With DATABASE_URL both go through PostgreSQL instead
(`pg_identify`, `pg_claims`: advisory locks held on connections of the process's own),
which reaches processes on any host.
"""
