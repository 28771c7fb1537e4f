"""The one shape of a domain rule's refusal, shared by every context's pure model: a machine-readable
`code` and a `message` for people. Each context names its own subclass (ArticleError, MacroError,
...) and its API answers it as a 4xx JSON error. No dependencies, so pure models may raise it."""

from __future__ import annotations


class RuleError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
