"""Staff roles and what each may do: every permission declared once, with the roles granted it and
the words a page uses when it refuses. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ROLES = ("admin", "agent", "marketer", "analyst", "privacy")
EVERYONE = frozenset(ROLES)


class Permission(StrEnum):
    PROFILES_READ = "profiles:read"
    MERGES_MAKE = "merges:make"
    MERGES_UNDO = "merges:undo"
    DEAD_LETTERS_READ = "dead_letters:read"
    METRICS_READ = "metrics:read"
    SOURCES_READ = "sources:read"
    SOURCES_MANAGE = "sources:manage"
    AUDIT_READ = "audit:read"
    TOKENS_MANAGE = "tokens:manage"
    CONSENT_READ = "consent:read"
    CONSENT_WRITE = "consent:write"
    PREFERENCES_WRITE = "preferences:write"
    MESSAGES_SEND = "messages:send"
    SERVICE_MESSAGES_SEND = "messages:send_service"
    DATA_EXPORT = "data:export"
    DATA_ERASE = "data:erase"
    PORTAL_LINK = "portal:link"
    IDENTIFIERS_VERIFY = "identifiers:verify"
    DECISIONS_MAKE = "decisions:make"
    DECISIONS_READ = "decisions:read"
    CASES_WORK = "cases:work"
    SLA_READ = "sla:read"
    SLA_MANAGE = "sla:manage"
    SERVICE_REPORTS_READ = "service_reports:read"
    MACROS_MANAGE = "macros:manage"
    KB_WRITE = "kb:write"
    ACTIONS_WRITE = "actions:write"
    TEXTS_ANALYZE = "texts:analyze"
    TOPICS_READ = "topics:read"
    VOICE_READ = "voice:read"
    VOICE_INVITE = "voice:invite"
    VOICE_MANAGE = "voice:manage"


@dataclass(frozen=True)
class Grant:
    roles: frozenset[str]
    ability: str  # "The agent role may not <ability>."


GRANTS: dict[Permission, Grant] = {
    Permission.PROFILES_READ: Grant(EVERYONE, "look up customers"),
    Permission.MERGES_MAKE: Grant(frozenset({"admin", "privacy"}), "merge profiles"),
    Permission.MERGES_UNDO: Grant(frozenset({"admin", "privacy"}), "undo merges"),
    Permission.DEAD_LETTERS_READ: Grant(frozenset({"admin", "analyst"}), "see dead letters"),
    Permission.METRICS_READ: Grant(frozenset({"admin", "analyst"}), "read metrics"),
    Permission.SOURCES_READ: Grant(frozenset({"admin"}), "see sources and their write keys"),
    Permission.SOURCES_MANAGE: Grant(frozenset({"admin"}), "rotate write keys or disable sources"),
    Permission.AUDIT_READ: Grant(frozenset({"admin", "privacy"}), "read the audit log"),
    Permission.TOKENS_MANAGE: Grant(frozenset({"admin"}), "manage staff tokens"),
    Permission.CONSENT_READ: Grant(EVERYONE, "read consent"),
    Permission.CONSENT_WRITE: Grant(frozenset({"admin", "agent", "privacy"}), "record consent"),
    Permission.PREFERENCES_WRITE: Grant(frozenset({"admin", "agent", "privacy"}), "change preferences"),
    Permission.MESSAGES_SEND: Grant(frozenset({"admin", "marketer", "agent"}), "send messages"),
    # A service message needs no consent, so only the roles that serve customers may label one so:
    # a marketer's campaign sent as "service" would skip every opt-out.
    Permission.SERVICE_MESSAGES_SEND: Grant(frozenset({"admin", "agent"}), "send service messages"),
    Permission.DATA_EXPORT: Grant(frozenset({"admin", "privacy"}), "see data export and erasure requests"),
    Permission.DATA_ERASE: Grant(frozenset({"admin", "privacy"}), "erase data"),
    Permission.PORTAL_LINK: Grant(frozenset({"admin", "agent", "privacy"}), "make portal sign-in links"),
    # A verified address opens the portal and receives mail: as strong as handing out a sign-in, so
    # only the roles that may export and erase may vouch for one.
    Permission.IDENTIFIERS_VERIFY: Grant(frozenset({"admin", "privacy"}), "verify a customer's identifiers"),
    # A decision reads the person's history (within their level) and is logged as theirs: the roles
    # that serve or market to customers. Analysts and privacy staff read the log, not make entries.
    Permission.DECISIONS_MAKE: Grant(frozenset({"admin", "agent", "marketer"}), "ask for decisions"),
    Permission.DECISIONS_READ: Grant(EVERYONE, "read the decision log"),
    # Cases hold what customers wrote: the roles that serve them read and work them (issue 15).
    Permission.CASES_WORK: Grant(frozenset({"admin", "agent"}), "work service cases"),
    Permission.SLA_READ: Grant(frozenset({"admin", "agent", "analyst"}), "read SLA policies and calendars"),
    Permission.SLA_MANAGE: Grant(frozenset({"admin"}), "set SLA policies, calendars and agents' capacity"),
    Permission.SERVICE_REPORTS_READ: Grant(frozenset({"admin", "analyst"}), "read service reports"),
    Permission.MACROS_MANAGE: Grant(frozenset({"admin"}), "keep the service desk's macros (saved replies)"),
    # Articles are what customers read as the business's word: written by the roles that serve them.
    Permission.KB_WRITE: Grant(frozenset({"admin", "agent"}), "write help articles"),
    # The next-best-action catalogue, its policies and contact limits: what marketing offers (issue 14).
    Permission.ACTIONS_WRITE: Grant(frozenset({"admin", "marketer"}), "manage next best actions and policies"),
    # Sentiment and topics read what customers wrote, to serve and improve: not the privacy desk's work.
    Permission.TEXTS_ANALYZE: Grant(frozenset({"admin", "agent", "analyst", "marketer"}), "analyze texts"),
    Permission.TOPICS_READ: Grant(frozenset({"admin", "agent", "analyst", "marketer"}), "read topics and sentiment"),
    # Survey answers hold what customers wrote: read by those who serve them and those who measure.
    Permission.VOICE_READ: Grant(frozenset({"admin", "agent", "analyst"}), "read survey answers and metrics"),
    Permission.VOICE_INVITE: Grant(frozenset({"admin", "agent"}), "invite customers to surveys"),
    Permission.VOICE_MANAGE: Grant(frozenset({"admin"}), "set up surveys, fatigue rules and the scorecard"),
}

# A permission without a grant would be a KeyError on the first request that needs it: fail at import.
assert set(GRANTS) == set(Permission), f"permissions without a grant: {set(Permission) - set(GRANTS)}"
assert all(g.roles <= EVERYONE for g in GRANTS.values()), "a grant names an unknown role"


@dataclass(frozen=True)
class Staff:
    token_id: int
    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"staff:{self.token_id}:{self.name}"

    def may(self, permission: Permission) -> bool:
        return self.role in GRANTS[Permission(permission)].roles
