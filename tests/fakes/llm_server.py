"""A fake OpenAI-compatible endpoint on 127.0.0.1 for tests, end-to-end runs and benchmarks.

    async with FakeLLMServer() as llm:          # binds 127.0.0.1 on a free port
        client = LLMClient(session, llm.base_url)  # "http://127.0.0.1:PORT/v1"
        llm.enqueue(text_reply("hi"), http_error(429, retry_after=0))
        ...
        llm.requests[0].json["messages"]      # every request is recorded (headers too)
        llm.chat_requests                     # only the POST /chat/completions ones

Routes: `POST /v1/chat/completions` answers with the next queued `Scripted` (FIFO), else with
`responder(body)` when set, else with a short default text stream, so nothing ever hangs.
`GET /v1/models` lists `models`; `GET /props` and `POST /api/show` (outside `/v1`, as on
llama.cpp and Ollama) answer only for their `context_style`. With `api_key` set, a wrong or
missing bearer gets 401 on the `/v1` routes.

With `strict` (the default) each chat request is first validated like a strict provider and
answered 400 in OpenAI's error shape when: the body is not an object, `model` is missing,
`messages` is empty, a role is unknown, `stream` is not true, two assistant messages follow
each other, tool pairing is broken (an assistant `tool_calls` entry without exactly one `tool`
message with its id right after it, a `tool` message answering no call, anything else between a
call and its results), a `tools` entry is malformed, `tool_choice` comes without `tools`, or a
message carries citations back (`annotations`, which providers send but never accept), or a
message other than a user message holds an image part (OpenAI takes images from users only:
a tool's images must follow its results as a user message).
Rejected requests are recorded too (`RecordedRequest.rejected` holds the reason).

`flavour` adds a real provider's strictness about its own reasoning state ("deepseek",
"gemini", "openrouter"; "generic" adds nothing): the server remembers the artefacts of every
answer it streams (`issued`) and refuses, with that provider's error body, a later request
that drops or changes them (see `tests.fakes.provider_rules`). Only when `strict`, after the
generic checks (whose failures keep OpenAI's error shape).

Context windows: `context_style` makes the server describe `context_window` the way one
server family does: "vllm" (`max_model_len` in `/v1/models`), "openrouter" (`context_length`
and `top_provider.context_length` there), "llamacpp" (`GET /props`,
`default_generation_settings.n_ctx`), "ollama" (`POST /api/show`, `<arch>.context_length` in
`model_info`, and `num_ctx` in `parameters` when `ollama_num_ctx` is set); the other routes
answer 404. With `empty_on_overflow` it behaves like a llama.cpp-family server whose window
is exceeded: a request whose prompt (characters / 4) is larger than `context_window` gets
HTTP 200 with an empty `text/event-stream` body, and no queued answer is used.

`disconnects` counts streams the client closed before the server finished writing, and
`disconnected` (an asyncio.Event) is set on the first one. Serving, recording, the answer
queue and playback are `tests.fakes.http_fake.FakeHTTPServer`'s; the builders of scripted
answers live in `tests.fakes.llm_scripts` (each provider's own shapes in
`tests.fakes.provider_scripts`). No pytest imports here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes.http_fake import FakeHTTPServer, RecordedRequest, Scripted, json_error
from tests.fakes.llm_scripts import error_body, text_reply
from tests.fakes.provider_rules import Flavour, Issued, check, prompt_tokens

__all__ = [
    "ContextStyle",
    "FakeLLMServer",
    "RecordedRequest",
    "openai_refusal",
    "validate_chat_request",
]

ContextStyle = Literal["vllm", "openrouter", "llamacpp", "ollama"]

_ROLES = {"system", "developer", "user", "assistant", "tool"}
# What a message must not carry back: citations are output only.
_CITATION_KEYS = ("annotations", "citations", "cited_sources")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def openai_refusal(request: web.Request, api_key: str | None) -> web.Response | None:
    """OpenAI's 401 for a missing or wrong bearer token, or None when `api_key` is satisfied."""
    if api_key is None or request.headers.get("Authorization") == f"Bearer {api_key}":
        return None
    return json_error(401, error_body("Incorrect API key provided.", code="invalid_api_key"))


@dataclass
class FakeLLMServer(FakeHTTPServer):
    models: list[str] = field(default_factory=lambda: ["fake-model", "fake-model-large"])
    flavour: Flavour = "generic"
    context_style: ContextStyle | None = None
    context_window: int = 8192
    ollama_num_ctx: int | None = None
    empty_on_overflow: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self.issued = Issued()  # what the flavour's provider wants back, by tool call id

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def reset(self) -> None:
        """Forget queued answers, recorded requests and issued artefacts."""
        super().reset()
        self.issued.clear()

    # --- handlers -------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/chat/completions", self._chat)
        router.add_get("/props", self._props)
        router.add_post("/api/show", self._show)

    def _refusal(self, request: web.Request) -> web.Response | None:
        return openai_refusal(request, self.api_key)

    def _model_list(self) -> dict[str, Any]:
        return {"object": "list", "data": [self._model(m) for m in self.models]}

    def _model(self, model: str) -> dict[str, Any]:
        """One `/v1/models` entry as the `context_style` server family writes it."""
        entry: dict[str, Any] = {"id": model, "object": "model", "created": 0, "owned_by": "fake"}
        window = self.context_window
        if self.context_style == "vllm":
            entry.update(owned_by="vllm", root=model, parent=None, max_model_len=window)
        elif self.context_style == "openrouter":
            entry = {
                "id": model,
                "name": model,
                "created": 0,
                "context_length": window,
                "top_provider": {
                    "context_length": window,
                    "max_completion_tokens": window // 4,
                    "is_moderated": False,
                },
                "pricing": {"prompt": "0.000003", "completion": "0.000015"},
            }
        elif self.context_style == "llamacpp":
            # The trained length is not the window the server runs with: only /props says.
            entry.update(owned_by="llamacpp", meta={"n_ctx_train": window * 4, "n_params": 1})
        elif self.context_style == "ollama":
            entry.update(owned_by="library")
        return entry

    async def _props(self, request: web.Request) -> web.StreamResponse:
        self._record("GET", request)
        if self.context_style != "llamacpp":
            raise web.HTTPNotFound()
        settings = {"n_ctx": self.context_window, "params": {"n_predict": -1}}
        return web.json_response(
            {
                "default_generation_settings": settings,
                "total_slots": 1,
                "model_path": f"/models/{self.models[0]}.gguf",
                "chat_template": "{{ messages }}",
            }
        )

    async def _show(self, request: web.Request) -> web.StreamResponse:
        body, _ = await self._record_body(request)
        if self.context_style != "ollama":
            raise web.HTTPNotFound()
        name = body.get("model") or body.get("name") if isinstance(body, dict) else None
        if name not in self.models and f"{name}:latest" not in self.models:
            return web.json_response({"error": f"model '{name}' not found"}, status=404)
        parameters = 'stop                           "<|eot_id|>"'
        if self.ollama_num_ctx is not None:
            parameters = f"num_ctx                        {self.ollama_num_ctx}\n{parameters}"
        return web.json_response(
            {
                "license": "",
                "modelfile": f"FROM {name}",
                "parameters": parameters,
                "template": "{{ .Prompt }}",
                "details": {"format": "gguf", "family": "llama", "parameter_size": "8.0B"},
                "model_info": {
                    "general.architecture": "llama",
                    "general.parameter_count": 8030261248,
                    "llama.context_length": self.context_window,
                    "llama.embedding_length": 4096,
                },
            }
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body, record = await self._record_body(request)
        denied = self._refusal(request)
        if denied is not None:
            return denied
        if self.strict:
            problem = validate_chat_request(body)
            if problem is not None:
                record.rejected = problem
                return json_error(400, error_body(problem))
            rejection = check(self.flavour, body, self.issued)
            if rejection is not None:
                record.rejected = rejection.reason
                return json_error(rejection.status, rejection.body)
        if self.empty_on_overflow and prompt_tokens(body) > self.context_window:
            record.rejected = "the prompt does not fit the context window (empty answer)"
            return await self._play(request, Scripted())
        return await self._answer(request, body)

    def _default_script(self, body: Any) -> Scripted:
        return text_reply()

    def _issue(self, script: Scripted) -> None:
        if self.flavour != "generic":
            self.issued.record(script.writes)


def validate_chat_request(body: Any) -> str | None:
    """Why a strict provider would reject this chat request, or None when it is valid."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    if body.get("stream") is not True:
        return "This fake only streams: 'stream' must be true."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array."
    problem = _check_tools(body)
    if problem is not None:
        return problem
    pending: list[str] = []  # ids of the last tool-call message still waiting for results
    previous_role = None
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages[{i}] must be an object."
        role = message.get("role")
        if role not in _ROLES:
            return f"Invalid value for messages[{i}].role: {role!r}."
        content = message.get("content")
        if (
            role != "user"
            and isinstance(content, list)
            and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content)
        ):
            return (
                f"Invalid 'messages[{i}]'. Image URLs are only allowed for messages with role "
                f"'user', but this message with role '{role}' contains an image URL."
            )
        cited = next((key for key in _CITATION_KEYS if key in message), None)
        if cited is not None:
            return (
                f"Additional properties are not allowed ('{cited}' was unexpected) - messages[{i}]"
            )
        if pending and role != "tool":
            return (
                f"An assistant message with 'tool_calls' must be followed by tool messages "
                f"responding to each 'tool_call_id'. Missing: {', '.join(pending)}."
            )
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                return (
                    f"messages[{i}]: a 'tool' message must answer a preceding 'tool_calls' "
                    f"entry; {call_id!r} matches none."
                )
            pending.remove(call_id)
            if not isinstance(message.get("content"), str | list):
                return f"messages[{i}].content must be a string."
        elif role == "assistant":
            if previous_role == "assistant":
                return f"messages[{i}]: two assistant messages in a row."
            calls = message.get("tool_calls")
            if calls is not None:
                problem = _check_calls(i, calls)
                if problem is not None:
                    return problem
                pending = [c["id"] for c in calls]
            elif not isinstance(message.get("content"), str | list):
                return f"messages[{i}]: an assistant message needs content or tool_calls."
        elif not isinstance(message.get("content"), str | list):
            return f"messages[{i}].content must be a string or an array of parts."
        previous_role = role
    if pending:
        return f"Tool calls without results: {', '.join(pending)}."
    return None


def _check_calls(i: int, calls: Any) -> str | None:
    if not isinstance(calls, list) or not calls:
        return f"messages[{i}].tool_calls must be a non-empty array."
    ids = set()
    for call in calls:
        if not isinstance(call, dict) or call.get("type") != "function":
            return f"messages[{i}].tool_calls entries must have type 'function'."
        function = call.get("function")
        if not isinstance(call.get("id"), str) or not call["id"] or call["id"] in ids:
            return f"messages[{i}].tool_calls entries need distinct non-empty ids."
        ids.add(call["id"])
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return f"messages[{i}].tool_calls[].function.name must be a string."
        if not isinstance(function.get("arguments"), str):
            return f"messages[{i}].tool_calls[].function.arguments must be a string."
    return None


def _check_tools(body: dict[str, Any]) -> str | None:
    tools = body.get("tools")
    if tools is None:
        if "tool_choice" in body:
            return "'tool_choice' is only allowed when 'tools' are specified."
        return None
    if not isinstance(tools, list) or not tools:
        return "'tools' must be a non-empty array."
    for j, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            return f"tools[{j}].type must be 'function'."
        function = tool.get("function")
        if not isinstance(function, dict):
            return f"tools[{j}].function must be an object."
        name = function.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            return f"tools[{j}].function.name must match ^[a-zA-Z0-9_-]{{1,64}}$."
        if "description" in function and not isinstance(function["description"], str):
            return f"tools[{j}].function.description must be a string."
        params = function.get("parameters")
        if params is not None and (not isinstance(params, dict) or params.get("type") != "object"):
            return f"tools[{j}].function.parameters must be a JSON schema of type 'object'."
    return None
