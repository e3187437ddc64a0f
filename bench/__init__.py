"""Switchboard's benchmarks: `python -m bench` (what `make bench` runs) prints one table per group.

Groups are registered in `bench.__main__.GROUPS`; each is a module with
`async def run(quick: bool) -> list[Result]`. Measurements use the project's own fakes from
`tests.fakes` over 127.0.0.1, so run from the repository root (the Makefile does).
"""
