"""The fake gateway: HELLO, heartbeats, IDENTIFY → READY → GUILD_CREATE, RESUME, op 7/9, dispatches.

Speaks plain TEXT frames, which discord.py accepts whatever `compress` it asks for (it only
inflates binary frames). Sessions outlive connections so a client can RESUME and get missed events.
Sharded sessions get only their shard's guilds and events (shards.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord import payloads
from tests.fakes.discord.models import INTENT_MESSAGE_CONTENT, JSON, PRIVILEGED_INTENTS
from tests.fakes.discord.shards import ShardPlan, guild_of, receives, valid_shard
from tests.fakes.discord.state import World

log = logging.getLogger(__name__)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11
_HISTORY_LIMIT = 2000
# Close codes after which the session cannot be resumed (a client's deliberate close).
_FINAL_CLOSE_CODES = (1000, 1001)


@dataclass(frozen=True)
class GatewayRecord:
    at: float  # time.monotonic()
    direction: str  # "recv" (from the client) or "send"
    op: int
    event: str | None


@dataclass
class GatewaySession:
    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    history: list[tuple[int, str]] = field(default_factory=list)
    connection: _Connection | None = None
    invalid: bool = False

    @property
    def message_content(self) -> bool:
        return bool(self.intents & INTENT_MESSAGE_CONTENT)


class _Connection:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.session: GatewaySession | None = None
        self.closed_by_server = False

    async def writer(self) -> None:
        while (frame := await self.queue.get()) is not None:
            try:
                await self.ws.send_str(frame)
            except ConnectionError:
                return


class Gateway:
    def __init__(
        self,
        world: World,
        *,
        token: str,
        heartbeat_interval_ms: int = 41250,
        allowed_privileged_intents: int = PRIVILEGED_INTENTS,
        shards: ShardPlan | None = None,
    ) -> None:
        self.world = world
        self.shards = shards or ShardPlan()
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.allowed_privileged_intents = allowed_privileged_intents
        self.resume_url = ""
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[_Connection] = []
        self.log: list[GatewayRecord] = []
        world.dispatch = self.dispatch

    # -- counters for tests ----------------------------------------------------------------

    def received(self, op: int) -> int:
        return sum(1 for r in self.log if r.direction == "recv" and r.op == op)

    def sent_events(self, event: str) -> int:
        return sum(1 for r in self.log if r.direction == "send" and r.event == event)

    @property
    def connected(self) -> bool:
        return any(c.session is not None and not c.ws.closed for c in self.connections)

    def connected_shards(self) -> list[tuple[int, int]]:
        """(shard id, count) of every connected sharded session, one entry per session."""
        return [
            (c.session.shard[0], c.session.shard[1])
            for c in self.connections
            if c.session is not None and c.session.shard is not None and not c.ws.closed
        ]

    # -- sending ---------------------------------------------------------------------------

    def _send(
        self, conn: _Connection, op: int, d: Any, *, s: int | None = None, t: str | None = None
    ) -> str:
        frame = json.dumps({"op": op, "d": d, "s": s, "t": t})
        self.log.append(GatewayRecord(time.monotonic(), "send", op, t))
        conn.queue.put_nowait(frame)
        return frame

    def _dispatch_to(self, session: GatewaySession, event: str, data: JSON) -> None:
        session.seq += 1
        frame = json.dumps({"op": OP_DISPATCH, "d": data, "s": session.seq, "t": event})
        session.history.append((session.seq, frame))
        del session.history[:-_HISTORY_LIMIT]
        conn = session.connection
        self.log.append(GatewayRecord(time.monotonic(), "send", OP_DISPATCH, event))
        if conn is not None and not conn.ws.closed:
            conn.queue.put_nowait(frame)

    def dispatch(self, event: str, data: JSON, blankable: bool | JSON) -> None:
        """Send an event to every live session (queued for replay if it is between connections).

        `blankable`: what a session without the Message Content intent gets instead of `data`:
        False the same, True `data` blanked, or a payload already blanked where it must be
        (a reply blanks its referenced message by that message's own rules). Sharded sessions
        get only the events of their shard's guilds (DMs: shard 0)."""
        guild_id = guild_of(event, data)
        for session in list(self.sessions.values()):
            if session.invalid or not receives(session.shard, guild_id):
                continue
            payload = data
            if blankable is not False and not session.message_content:
                payload = payloads.blank(data) if blankable is True else blankable
            self._dispatch_to(session, event, payload)
        self.world.notify()

    # -- control ---------------------------------------------------------------------------

    def send_op(self, op: int, d: Any) -> int:
        sent = 0
        for conn in list(self.connections):
            if conn.session is not None and not conn.ws.closed:
                self._send(conn, op, d)
                sent += 1
        return sent

    def invalidate_sessions(self) -> None:
        for session in self.sessions.values():
            session.invalid = True

    async def disconnect(self, code: int = 4000) -> None:
        """Close every connection from the server side; sessions stay resumable unless told."""
        for conn in list(self.connections):
            conn.closed_by_server = True
            conn.queue.put_nowait(None)
            await conn.ws.close(code=code, message=b"closed by fake")

    # -- connection handling ---------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        conn = _Connection(ws)
        self.connections.append(conn)
        writer = asyncio.create_task(conn.writer())
        self._send(conn, OP_HELLO, {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": []})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._on_frame(conn, json.loads(msg.data))
        finally:
            conn.queue.put_nowait(None)
            await writer
            self.connections.remove(conn)
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                if not conn.closed_by_server and ws.close_code in _FINAL_CLOSE_CODES:
                    session.invalid = True
            log.debug("gateway connection closed with %s", ws.close_code)
            self.world.notify()
        return ws

    async def _on_frame(self, conn: _Connection, frame: JSON) -> None:
        op = int(frame.get("op", -1))
        d = frame.get("d")
        self.log.append(GatewayRecord(time.monotonic(), "recv", op, None))
        if op == OP_HEARTBEAT:
            self._send(conn, OP_HEARTBEAT_ACK, None)
        elif op == OP_IDENTIFY:
            await self._identify(conn, d or {})
        elif op == OP_RESUME:
            self._resume(conn, d or {})
        elif op == OP_REQUEST_MEMBERS and conn.session is not None:
            self._members_chunk(conn.session, d or {})
        self.world.notify()

    async def _identify(self, conn: _Connection, d: JSON) -> None:
        if d.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(d.get("intents") or 0)
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = d.get("shard")
        if shard is not None and not valid_shard(shard):
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        if not self.shards.admit(shard):
            # Faster than max_concurrency allows: Discord answers op 9, not resumable.
            log.info("fake discord: IDENTIFY of shard %s refused (too fast)", shard)
            self._send(conn, OP_INVALID_SESSION, False)
            return
        if shard is not None and (shard[0], shard[1]) in self.connected_shards():
            self.shards.duplicates.append((shard[0], shard[1]))
        session = GatewaySession(secrets.token_hex(16), intents, shard)
        self.sessions[session.id] = session
        session.connection = conn
        conn.session = session
        world = self.world
        guilds = [g for g in world.guilds.values() if receives(session.shard, g.id)]
        ready: JSON = {
            "v": 10,
            "user": payloads.user(world.bot),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "application": {"id": str(world.app_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": [],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        self._dispatch_to(session, "READY", ready)
        for guild in guilds:
            channels = world.guild_channels(guild.id)
            self._dispatch_to(session, "GUILD_CREATE", payloads.guild(guild, channels, world.users))

    def _resume(self, conn: _Connection, d: JSON) -> None:
        session = self.sessions.get(str(d.get("session_id")))
        if session is None or session.invalid or d.get("token") != self.token:
            self._send(conn, OP_INVALID_SESSION, False)
            return
        old = session.connection
        if old is not None and old is not conn:
            old.session = None
        session.connection = conn
        conn.session = session
        last_seen = int(d.get("seq") or 0)
        for seq, frame in session.history:
            if seq > last_seen:
                conn.queue.put_nowait(frame)
        self._dispatch_to(session, "RESUMED", {"_trace": []})

    def _members_chunk(self, session: GatewaySession, d: JSON) -> None:
        guild = self.world.guilds.get(int(d.get("guild_id") or 0))
        if guild is None:
            return
        self._dispatch_to(
            session,
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": str(guild.id),
                "members": [payloads.member(m) for m in guild.members.values()],
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": d.get("nonce"),
            },
        )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.disconnect(code=1001)
