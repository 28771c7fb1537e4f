"""One validated Settings object, read from RAPPORT_* environment variables.

Nothing is built at import time: call `load_settings()` at the edge (CLI, app factory, tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import phonenumbers
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BLOCKED_VALUES = (
    "null",
    "undefined",
    "none",
    "nil",
    "0",
    "-1",
    "anonymous",
    "unknown",
    "n/a",
    "na",
    "test",
    "00000000-0000-0000-0000-000000000000",
)


def _default_data_dir() -> Path:
    """$XDG_DATA_HOME/rapport, else ~/.local/share/rapport: never inside a checkout."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rapport"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAPPORT_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///rapport.db",
        description="SQLAlchemy URL: sqlite:///path.db (embedded) or postgresql+psycopg://user:pw@host/db",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs console sessions; when unset one is generated once and kept in the database.",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="FULL", description="FULL: a 2xx survives power loss; NORMAL: survives a process crash."
    )
    default_phone_region: str = Field(default="US", description="ISO region for phone numbers given without +country.")
    blocked_identifier_values: list[str] = Field(default_factory=lambda: list(DEFAULT_BLOCKED_VALUES))
    identifier_limits: dict[str, int] = Field(
        default_factory=lambda: {"user_id": 1},
        description="Most values of an identifier type one profile may hold; a second one never merges.",
    )
    processor: Literal["process", "thread", "off"] = Field(
        default="process", description="How `serve` runs the event processor."
    )
    processor_batch_size: int = Field(default=10_000, ge=1, le=100_000)
    consistency_timeout_s: float = Field(default=5.0, gt=0, le=60)
    ingest_max_lag_s: float = Field(
        default=1.0,
        ge=0,
        le=600,
        description="Hold new Tracking API requests while profiles lag this far behind acknowledged events; 0: never.",
    )
    ingest_hold_s: float = Field(
        default=5.0, gt=0, le=60, description="Longest a request is held for the lag; it is then taken anyway."
    )
    sqlite_cache_mib: int = Field(default=64, ge=2, le=4096, description="SQLite page cache per connection, MiB.")
    demo: bool = False
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where customers reach this server (links in emails); https in production.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="smtp://[user:pass@]host:port, smtps://... or smtp+starttls://...; unset: no email is sent.",
    )
    mail_from: str = Field(default="Rapport <no-reply@rapport.localhost>", description="From: of outbound email.")
    dkim_selector: str | None = Field(default=None, max_length=63, description="DKIM selector: sign outbound mail.")
    dkim_domain: str | None = Field(default=None, max_length=253, description="DKIM signing domain (d=).")
    dkim_private_key_file: Path | None = Field(default=None, description="PEM file of the DKIM private key.")
    sign_in_links_per_client: int = Field(
        default=10, ge=1, le=10_000, description="Portal sign-in links one client (IP) may ask for in 15 minutes."
    )
    sign_in_links_per_server: int = Field(
        default=1_000, ge=1, le=1_000_000, description="Portal sign-in links all clients may ask for in 15 minutes."
    )
    http_max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, le=1024 * 1024, description="Request line and headers past this: 431."
    )
    http_header_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="A request's headers must arrive within this, else 408."
    )
    http_body_timeout_s: float = Field(
        default=30.0, gt=0, le=3600, description="A body must arrive within this plus 1 s per KiB, else 408."
    )
    http_keep_alive_s: float = Field(default=30.0, gt=0, le=3600, description="An idle connection closes after this.")
    data_dir: Path = Field(
        default_factory=lambda: _default_data_dir(),
        description="Where trained models are kept (the assistant's intent model); not in the database.",
    )
    help_chat_write_key: str | None = Field(
        default=None, max_length=200, description="The source whose write key the help center's chat widget uses."
    )
    http_max_connections: int = Field(
        default=1000, ge=1, le=1_000_000, description="Open connections per server process; past it, 503."
    )
    inbound_authserv_id: str | None = Field(
        default=None,
        max_length=253,
        description="The authserv-id of the mail server in front of Rapport whose Authentication-Results "
        "header (SPF, DKIM, DMARC) is trusted; inbound mail it did not authenticate joins no case or profile.",
    )
    kb_semantic: bool = Field(
        default=False,
        description="Re-rank knowledge-base search results by meaning too (needs rapport[ml]); see docs/kb.md.",
    )
    decide_retrain_hours: float = Field(
        default=24.0,
        ge=0,
        le=24 * 90,
        description="`serve` retrains the recommender this often when new purchases or views arrived; 0: never.",
    )
    suggestion_ask_again_days: int = Field(
        default=90, ge=1, le=3650, description="After a customer's no, a suggestion is not asked again for this long."
    )

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("smtp://", "smtps://", "smtp+starttls://")):
            raise ValueError("must start with smtp://, smtps:// or smtp+starttls://")
        return value or None

    @field_validator("default_phone_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not an ISO 3166 region phonenumbers knows (e.g. US, GB, DE)")
        return value

    @model_validator(mode="after")
    def _dkim_complete(self) -> Settings:
        given = [self.dkim_selector, self.dkim_domain, self.dkim_private_key_file]
        if any(given) and not all(given):
            raise ValueError("DKIM needs RAPPORT_DKIM_SELECTOR, RAPPORT_DKIM_DOMAIN and RAPPORT_DKIM_PRIVATE_KEY_FILE")
        if self.dkim_private_key_file and not self.dkim_private_key_file.is_file():
            raise ValueError(f"RAPPORT_DKIM_PRIVATE_KEY_FILE: no file at {self.dkim_private_key_file}")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[-1]
        return None if path in ("", ":memory:") else Path(path)


class SettingsError(Exception):
    """A RAPPORT_* variable has a bad value; the message names it."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "RAPPORT_" + "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
