"""Exception tree. Every error a person may see carries text that is safe to show.

    SwitchboardError
    ├── UserFacingError            .user_message is safe for Discord (no secrets, no internals)
    │   ├── LLMError               anything the model endpoint did wrong
    │   │   ├── LLMConnectionError     could not connect / connection cut   (retryable)
    │   │   ├── LLMTimeoutError        connect, first-byte or idle timeout  (retryable)
    │   │   ├── LLMRateLimitedError    429 with Retry-After                  (retryable)
    │   │   ├── LLMServerError         5xx                                   (retryable)
    │   │   ├── LLMAuthError           401/403: key missing or wrong
    │   │   ├── LLMQuotaExhaustedError provider says the account is out of credit
    │   │   ├── LLMContextTooLongError prompt does not fit the model's context
    │   │   ├── LLMModelNotFoundError  unknown model name
    │   │   ├── LLMBadRequestError     other 4xx
    │   │   └── LLMBadResponseError    stream we could not understand / error object mid-stream
    │   ├── BudgetExceededError    a budget refuses the call (billing)
    │   │   └── UnpricedModelError     a budget applies but the model has no known price
    │   ├── InvalidInputError      a command got a value it cannot use
    │   └── DatabaseUnavailableError   the connection to PostgreSQL was lost (mid-run)
    ├── ConfigurationError         settings that prevent start-up
    └── DuplicateMessageError      a Discord message was already stored (a replayed event)

`retryable` marks what the client may retry before the first token; `partial` is set when the
failure happened after output already reached the caller (the answer must not restart).

`describe(error)` is the one error policy: every entry point (slash commands, the message
listener, buttons, answers) turns an exception into what a member reads with it. A
`UserFacingError` says its own `user_message`; anything else is logged with its traceback
and the ids of the current log context, and the member reads `GENERIC_MESSAGE` with an
error id that finds the log line.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from bot.logs import log_context

log = logging.getLogger(__name__)

GENERIC_MESSAGE = "Sorry, something went wrong."


@dataclass(frozen=True, slots=True)
class MemberText:
    """What a member reads about a failure; `error_id` is set when it was unexpected."""

    text: str
    error_id: str | None = None

    def __str__(self) -> str:
        return self.text if self.error_id is None else f"{self.text} (error id `{self.error_id}`)"


def new_error_id() -> str:
    """A short id a member can quote and an operator can find in the log."""
    return secrets.token_hex(4)


def first_line(error: BaseException) -> str:
    """`error` as one line for a log or a plain message: its first line, or its type's name
    when it says nothing (a driver's errors can run to several lines)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def describe(error: BaseException, what: str = "request") -> MemberText:
    """The member's text for `error`; an unexpected one is logged here, with its id."""
    if isinstance(error, UserFacingError):
        return MemberText(error.user_message)
    error_id = new_error_id()
    with log_context(error_id=error_id):
        log.error("%s failed", what, exc_info=error)
    return MemberText(GENERIC_MESSAGE, error_id)


class SwitchboardError(Exception):
    """Base of everything Switchboard raises on purpose."""


class ConfigurationError(SwitchboardError):
    """Settings that stop start-up. `problems` holds one plain line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class DuplicateMessageError(SwitchboardError):
    """The Discord message is already stored: the gateway delivered it twice."""


class UserFacingError(SwitchboardError):
    """An error whose `user_message` may be shown in Discord as is."""

    default_message = "Something went wrong."

    def __init__(self, user_message: str | None = None, *, detail: str | None = None) -> None:
        self.user_message = user_message or self.default_message
        # `detail` is for logs only; it must never contain secrets either.
        self.detail = detail
        super().__init__(detail or self.user_message)


class InvalidInputError(UserFacingError):
    default_message = "That value can't be used."


class DatabaseUnavailableError(UserFacingError):
    """PostgreSQL could not be reached mid-run; the bot reconnects by itself."""

    default_message = "The bot lost its connection to its database; try again in a minute."


class BudgetExceededError(UserFacingError):
    default_message = "The usage budget for this server has been reached."


class UnpricedModelError(BudgetExceededError):
    """A budget applies, but nobody knows what the model costs, so the call is refused."""


class LLMError(UserFacingError):
    default_message = "The model endpoint returned an error."
    retryable = False

    def __init__(
        self,
        user_message: str | None = None,
        *,
        detail: str | None = None,
        status: int | None = None,
        partial: bool = False,
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.status = status
        self.partial = partial


class LLMConnectionError(LLMError):
    default_message = "Couldn't reach the model endpoint."
    retryable = True


class LLMTimeoutError(LLMError):
    default_message = "The model took too long to answer."
    retryable = True


class LLMRateLimitedError(LLMError):
    default_message = "The model endpoint is rate limiting us; try again in a moment."
    retryable = True

    def __init__(
        self,
        user_message: str | None = None,
        *,
        detail: str | None = None,
        status: int | None = 429,
        partial: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(user_message, detail=detail, status=status, partial=partial)
        self.retry_after = retry_after


class LLMServerError(LLMError):
    default_message = "The model endpoint had a server error."
    retryable = True


class LLMAuthError(LLMError):
    default_message = "The model endpoint refused our credentials; an admin must check LLM_API_KEY."


class LLMQuotaExhaustedError(LLMError):
    default_message = "The model provider account is out of credit; an admin must top it up."


class LLMContextTooLongError(LLMError):
    default_message = "This conversation is too long for the model; start a new one."


class LLMModelNotFoundError(LLMError):
    default_message = "The configured model isn't available at the endpoint."


class LLMBadRequestError(LLMError):
    default_message = "The model endpoint rejected the request."


class LLMBadResponseError(LLMError):
    default_message = "The model endpoint sent a response we couldn't understand."
