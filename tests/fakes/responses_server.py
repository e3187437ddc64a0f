"""A strict fake of OpenAI's Responses API on 127.0.0.1, for stateless use (`store: false`).

    async with FakeResponsesServer() as server:      # binds 127.0.0.1 on a free port
        client = LLMClient(session, server.base_url, protocol=ResponsesProtocol())
        server.enqueue(responses_tool_calls([("echo", {"a": 1})]), responses_text("done"))
        server.responses_requests[0].json["input"]   # every request is recorded

Routes: `POST /v1/responses` answers with the next queued answer (FIFO), else `responder(body)`
when set, else a short text stream (with a reasoning item for reasoning models), so nothing
hangs. `GET /v1/models` lists `models`; with `api_key` set a wrong bearer gets 401. Answers
are `Scripted` like `FakeLLMServer`'s (so `cut_after`, `stall`, `http_error` and `raw_sse`
from `tests.fakes.llm_scripts` apply), and `disconnects` counts streams the client left.

Every output item of an answer it plays (`ResponsesScripted.output`) is recorded as issued:
reasoning items with their `encrypted_content`, and which reasoning item preceded each function
call. With `strict` (the default) a request is then validated like OpenAI does and answered
with OpenAI's error shape (`{"error": {"message", "type", "param", "code"}}`, mostly 400) when:
- `model` is missing, `stream` is not true, `store` is not false, `previous_response_id` is
  used (nothing is stored here), `max_output_tokens` is below 16, a tool is neither a flat
  `{"type": "function", "name", "parameters"}` object nor OpenAI's own `web_search`, or
  `tool_choice` is unknown;
- `include` asks for `reasoning.encrypted_content` from a model that is not a reasoning model;
- an input item is malformed or of an unknown type, or carries an item `id` that references a
  stored item (a reasoning item with its `encrypted_content` is self-contained and allowed);
- a `function_call` has no later `function_call_output` with its `call_id`, an output has no
  earlier call, or an output list holds a part other than `input_text`, `input_image` (a data
  URL of an image type, or a URL) or `input_file`;
- for reasoning models, a function call issued after a reasoning item comes back without that
  reasoning item in the same turn, or a reasoning item comes back without a following item;
- a reasoning item's `encrypted_content` is not what this fake issued.
Rejected requests are recorded too (`RecordedRequest.rejected` holds the message).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.http_fake import FakeHTTPServer, RecordedRequest, Scripted, json_error
from tests.fakes.llm_server import openai_refusal
from tests.fakes.responses_scripts import ResponsesScripted, responses_text

__all__ = ["FakeResponsesServer", "Issued", "Rejection", "is_reasoning_model"]

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ROLES = {"user", "assistant", "system", "developer"}
_OUTPUT_LIKE = {"reasoning", "function_call"}


def is_reasoning_model(model: str) -> bool:
    """The models that reason (and accept encrypted reasoning): o-series and gpt-5, except
    gpt-5's chat variants."""
    return bool(re.match(r"o\d", model)) or (model.startswith("gpt-5") and "chat" not in model)


@dataclass(frozen=True)
class Rejection:
    message: str
    param: str | None = None
    code: str | None = None
    status: int = 400

    def body(self) -> bytes:
        error = {
            "message": self.message,
            "type": "invalid_request_error",
            "param": self.param,
            "code": self.code,
        }
        return json.dumps({"error": error}).encode()


@dataclass
class Issued:
    """What this fake handed out, to recognise it when it comes back."""

    encrypted: dict[str, str] = field(default_factory=dict)  # reasoning id → encrypted content
    by_encrypted: dict[str, str] = field(default_factory=dict)  # encrypted content → reasoning id
    # call_id → (function call item id, id of the reasoning item that preceded it, or None)
    calls: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def record(self, output: list[dict[str, Any]]) -> None:
        reasoning: str | None = None
        for item in output:
            kind = item.get("type")
            if kind == "reasoning":
                reasoning = item["id"]
                encrypted = item.get("encrypted_content")
                if encrypted:
                    self.encrypted[item["id"]] = encrypted
                    self.by_encrypted[encrypted] = item["id"]
            elif kind == "function_call":
                self.calls[item["call_id"]] = (item["id"], reasoning)


@dataclass
class FakeResponsesServer(FakeHTTPServer):
    models: list[str] = field(default_factory=lambda: ["gpt-4.1-mini", "o4-mini", "gpt-5-mini"])
    issued: Issued = field(default_factory=Issued)

    @property
    def responses_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/responses")]

    def reset(self) -> None:
        """Forget queued answers, recorded requests and issued items."""
        super().reset()
        self.issued = Issued()

    # --- handlers -------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/responses", self._responses)

    def _refusal(self, request: web.Request) -> web.Response | None:
        return openai_refusal(request, self.api_key)

    def _model_list(self) -> dict[str, Any]:
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "system"} for m in self.models
        ]
        return {"object": "list", "data": data}

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        body, record = await self._record_body(request)
        denied = self._refusal(request)
        if denied is not None:
            return denied
        if self.strict:
            problem = validate_responses_request(body, self.issued)
            if problem is not None:
                record.rejected = problem.message
                return json_error(problem.status, problem.body())
        return await self._answer(request, body)

    def _default_script(self, body: Any) -> Scripted:
        model = body.get("model", "") if isinstance(body, dict) else ""
        reasoning = ["Thinking about the answer."] if is_reasoning_model(model) else []
        return responses_text(model=model or "gpt-4.1-mini", reasoning=reasoning)

    def _issue(self, script: Scripted) -> None:
        if isinstance(script, ResponsesScripted):
            self.issued.record(script.output)


# --- validation ------------------------------------------------------------------------------


def validate_responses_request(body: Any, issued: Issued) -> Rejection | None:
    """Why OpenAI would reject this stateless request, or None when it is valid."""
    if not isinstance(body, dict):
        return Rejection("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return Rejection(
            "Missing required parameter: 'model'.", "model", "missing_required_parameter"
        )
    if body.get("stream") is not True:
        return Rejection("This fake only streams: 'stream' must be true.", "stream")
    if body.get("store") is not False:
        return Rejection("This fake is stateless: 'store' must be false.", "store")
    previous = body.get("previous_response_id")
    if previous is not None:
        return Rejection(
            f"Previous response with id '{previous}' not found.", "previous_response_id", status=404
        )
    reasoning_model = is_reasoning_model(model)
    include = body.get("include", [])
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        return Rejection("Invalid type for 'include': expected an array of strings.", "include")
    if "reasoning.encrypted_content" in include and not reasoning_model:
        return Rejection("Encrypted content is not supported with this model.", "include")
    limit = body.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or limit < 16):
        return Rejection(
            "Invalid 'max_output_tokens': integer below minimum value. "
            f"Expected a value >= 16, but got {limit} instead.",
            "max_output_tokens",
            "integer_below_min_value",
        )
    if not isinstance(body.get("instructions", ""), str | None):
        return Rejection("Invalid type for 'instructions': expected a string.", "instructions")
    problem = _check_tools(body)
    if problem is not None:
        return problem
    items = body.get("input")
    if isinstance(items, str):
        return None
    if not isinstance(items, list) or not items:
        return Rejection("Missing required parameter: 'input'.", "input")
    for index, item in enumerate(items):
        problem = _check_item(index, item, issued)
        if problem is not None:
            return problem
    return _check_pairing(items, issued, reasoning_model)


_HOSTED_TOOLS = {"web_search", "web_search_preview"}


def _check_tools(body: dict[str, Any]) -> Rejection | None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if (
        choice is not None
        and choice not in ("auto", "none", "required")
        and not isinstance(choice, dict)
    ):
        return Rejection(f"Invalid value: '{choice}'.", "tool_choice")
    if tools is None:
        return None
    if not isinstance(tools, list):
        return Rejection("Invalid type for 'tools': expected an array.", "tools")
    for j, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("type") in _HOSTED_TOOLS:
            continue  # OpenAI's own tools (a model's params add them): nothing more to check
        if not isinstance(tool, dict) or tool.get("type") != "function":
            return Rejection(f"Invalid value for 'tools[{j}].type'.", f"tools[{j}].type")
        name = tool.get("name")
        if not isinstance(name, str):
            return Rejection(
                f"Missing required parameter: 'tools[{j}].name'.",
                f"tools[{j}].name",
                "missing_required_parameter",
            )
        if not _TOOL_NAME.match(name):
            return Rejection(
                f"Invalid 'tools[{j}].name': string does not match pattern.", f"tools[{j}].name"
            )
        params = tool.get("parameters")
        if params is not None and (not isinstance(params, dict) or params.get("type") != "object"):
            return Rejection(
                f"Invalid schema for function '{name}': schema must be a JSON Schema of "
                "'type: \"object\"'.",
                f"tools[{j}].parameters",
                "invalid_function_parameters",
            )
        if "strict" in tool and not isinstance(tool["strict"], bool | None):
            return Rejection(f"Invalid type for 'tools[{j}].strict'.", f"tools[{j}].strict")
    return None


def _not_persisted(item_id: str) -> Rejection:
    return Rejection(
        f"Item with id '{item_id}' not found. Items are not persisted when `store` is set to "
        "false. Try again with `store` set to true, or remove this item from your input.",
        "input",
        status=404,
    )


def _short(encrypted: str) -> str:
    return f"{encrypted[:4]}...{encrypted[-4:]}" if len(encrypted) > 8 else encrypted


def _check_item(index: int, item: Any, issued: Issued) -> Rejection | None:
    where = f"input[{index}]"
    if not isinstance(item, dict):
        return Rejection(f"Invalid type for '{where}': expected an object.", where)
    kind = item.get("type", "message" if "role" in item else None)
    item_id = item.get("id")
    if kind == "message":
        if item.get("role") not in _ROLES:
            return Rejection(f"Invalid value for '{where}.role'.", f"{where}.role")
        if not isinstance(item.get("content"), str | list):
            return Rejection(f"Missing required parameter: '{where}.content'.", f"{where}.content")
        return _not_persisted(item_id) if item_id is not None else None
    if kind == "function_call":
        for key in ("call_id", "name", "arguments"):
            if not isinstance(item.get(key), str) or (key != "arguments" and not item[key]):
                return Rejection(f"Missing required parameter: '{where}.{key}'.", f"{where}.{key}")
        if item_id is not None:
            if not str(item_id).startswith("fc"):
                return Rejection(
                    f"Invalid '{where}.id': '{item_id}'. Expected an ID that begins with 'fc'.",
                    f"{where}.id",
                )
            return _not_persisted(item_id)
        return None
    if kind == "function_call_output":
        if not isinstance(item.get("call_id"), str) or not item["call_id"]:
            return Rejection(f"Missing required parameter: '{where}.call_id'.", f"{where}.call_id")
        output = item.get("output")
        if not isinstance(output, str | list):
            return Rejection(f"Missing required parameter: '{where}.output'.", f"{where}.output")
        for k, part in enumerate(output if isinstance(output, list) else ()):
            problem = _check_output_part(f"{where}.output[{k}]", part)
            if problem is not None:
                return problem
        return None
    if kind == "reasoning":
        if not isinstance(item.get("summary"), list):
            return Rejection(f"Missing required parameter: '{where}.summary'.", f"{where}.summary")
        encrypted = item.get("encrypted_content")
        if not isinstance(encrypted, str) or not encrypted:
            if item_id is not None:
                return _not_persisted(item_id)
            return Rejection(
                f"Missing required parameter: '{where}.encrypted_content'.",
                f"{where}.encrypted_content",
            )
        if item_id is not None and issued.encrypted.get(item_id) != encrypted:
            return Rejection(
                f"The encrypted content for item {item_id} could not be verified. Reason: "
                "Encrypted content could not be decrypted or parsed.",
                code="invalid_encrypted_content",
            )
        if encrypted not in issued.by_encrypted:
            return Rejection(
                f"The encrypted content {_short(encrypted)} could not be verified.",
                code="invalid_encrypted_content",
            )
        return None
    return Rejection(
        f"Invalid value: '{kind}'. Supported values are: 'message', 'reasoning', "
        "'function_call' and 'function_call_output'.",
        f"{where}.type",
        "invalid_value",
    )


def _check_output_part(where: str, part: Any) -> Rejection | None:
    """A part of a function call's output list: input_text, input_image or input_file."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "input_text":
        if not isinstance(part.get("text"), str):
            return Rejection(f"Missing required parameter: '{where}.text'.", f"{where}.text")
        return None
    if kind == "input_image":
        url = part.get("image_url")
        if isinstance(part.get("file_id"), str):
            return None
        if not isinstance(url, str) or not url.startswith(("data:image/", "https://")):
            return Rejection(
                f"Invalid '{where}.image_url'. Expected a base64-encoded data URL with an image "
                "MIME type (e.g. 'data:image/png;base64,...') or a URL.",
                f"{where}.image_url",
                "invalid_value",
            )
        return None
    if kind == "input_file":
        return None
    return Rejection(
        f"Invalid value: '{kind}'. Supported values are: 'input_text', 'input_image' and "
        "'input_file'.",
        f"{where}.type",
        "invalid_value",
    )


def _is_output_like(item: dict[str, Any]) -> bool:
    """Items a model produces in one turn: reasoning, calls and its own messages."""
    return item.get("type") in _OUTPUT_LIKE or (
        item.get("type", "message") == "message" and item.get("role") == "assistant"
    )


def _reasoning_id(item: dict[str, Any], issued: Issued) -> str | None:
    item_id = item.get("id")
    if isinstance(item_id, str):
        return item_id
    return issued.by_encrypted.get(item.get("encrypted_content", ""))


def _check_pairing(
    items: list[dict[str, Any]], issued: Issued, reasoning: bool
) -> Rejection | None:
    calls: set[str] = set()
    outputs_after: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.get("type") == "function_call_output":
            call_id = item["call_id"]
            if call_id not in calls:
                return Rejection(
                    f"No tool call found for function call output with call_id {call_id}.",
                    "input",
                )
            outputs_after[call_id] = index
        elif item.get("type") == "function_call":
            calls.add(item["call_id"])
    for index, item in enumerate(items):
        kind = item.get("type")
        if kind == "function_call":
            call_id = item["call_id"]
            if outputs_after.get(call_id, -1) < index:
                return Rejection(f"No tool output found for function call {call_id}.", "input")
            origin = issued.calls.get(call_id)
            required = origin[1] if reasoning and origin is not None else None
            if required is not None and not _reasoning_in_turn(items, index, required, issued):
                return Rejection(
                    f"Item '{origin[0]}' of type 'function_call' was provided without its "
                    f"required 'reasoning' item: '{required}'.",
                    "input",
                )
        elif kind == "reasoning":
            following = items[index + 1] if index + 1 < len(items) else None
            if following is None or not _is_output_like(following):
                name = _reasoning_id(item, issued) or f"input[{index}]"
                return Rejection(
                    f"Item '{name}' of type 'reasoning' was provided without its required "
                    "following item.",
                    "input",
                )
    return None


def _reasoning_in_turn(
    items: list[dict[str, Any]], index: int, wanted: str, issued: Issued
) -> bool:
    """Whether reasoning item `wanted` is among the model's items right before `index`."""
    for item in reversed(items[:index]):
        if not _is_output_like(item):
            return False
        if item.get("type") == "reasoning" and _reasoning_id(item, issued) == wanted:
            return True
    return False
