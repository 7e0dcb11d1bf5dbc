"""The connector's errors, grouped by what the caller should do.

    ConnectorError                 every expected problem; ``str()`` is a plain sentence
    ├── StopError                  stop the run; ``exit_code`` says why (the contract's codes)
    │   ├── ConfigError            2: configuration or usage; ``problems``: one line each
    │   ├── AlephUnavailable       3: Alephee unreachable or rate-limited beyond the run's budget
    │   │   ├── AuthError          3: 401/403, the key or account is wrong: never retried
    │   │   └── RequestLevelError  3: Alephee refused the whole request, whatever its items
    │   ├── InstanceRunning        4: another connector holds the state lock
    │   └── StopRequested          0: Ctrl+C or SIGTERM; the step in flight was finished
    ├── RetryableError             transient: retry with backoff, within the budget
    │   ├── RateLimited            429; ``retry_after`` seconds from the headers
    │   ├── ServerError            5xx (500 bodies are plain text)
    │   └── NetworkError           connect/read failure, reset, timeout
    └── SkipError                  skip this item or file, report it, go on with the rest
        ├── RequestRejected        other 4xx: not retried unchanged
        │   └── NothingApplied     404/412 naming no item: nothing of the batch was applied
        ├── PayloadTooLarge        413: nothing applied; split the batch and send again
        └── BadInputFile           a whole inbox file cannot be read; it goes to failed/

No message ever holds a URL with its query string: the API key travels there.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REJECTS = 1
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 3
EXIT_LOCKED = 4
EXIT_INTERNAL = 5  # an unexpected error, contained to its cycle or item (connector.contain)


class ConnectorError(Exception):
    """Base of every expected problem."""


class StopError(ConnectorError):
    exit_code = EXIT_UNAVAILABLE


class ConfigError(StopError):
    exit_code = EXIT_CONFIG

    def __init__(self, problems: list[str] | str, *, source: str = "") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + "; ".join(self.problems))


class AlephUnavailable(StopError):
    exit_code = EXIT_UNAVAILABLE
    cause: RetryableError | None = None  # the last transient error, when retries ran out


class AuthError(AlephUnavailable):
    pass


class RequestLevelError(AlephUnavailable):
    """The same refusal for every part of a batch: a cause outside the items (a price list
    removed, an account setting). Nothing is stored as refused; the work stays queued."""


class InstanceRunning(StopError):
    exit_code = EXIT_LOCKED


class StopRequested(StopError):
    """Ctrl+C or SIGTERM during ``run``: stop after the step in flight, all of it committed."""

    exit_code = EXIT_OK


class RetryableError(ConnectorError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(RetryableError):
    def __init__(self, message: str, *, retry_after: float, status: int = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ServerError(RetryableError):
    pass


class NetworkError(RetryableError):
    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class SkipError(ConnectorError):
    pass


class RequestRejected(SkipError):
    def __init__(self, message: str, *, status: int, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason  # Alephee's own words, to compare one refusal with another


class NothingApplied(RequestRejected):
    pass


class PayloadTooLarge(SkipError):
    pass


class BadInputFile(SkipError):
    """A whole file cannot be used. ``hint`` tells the operator what to do."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint
