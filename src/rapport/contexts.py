"""The one list of contexts, and everything each contributes: its tables and personal data, its API
routers, its console and portal pages, its navigation entries and its panels on the Customer 360 and
on the portal's "My data".

Nothing registers itself as a side effect of being imported: `create_app`, the CLI and the
migrations read this list. A new context is one folder and one entry here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

import typer
from fastapi import APIRouter

from rapport.access import api as access_api
from rapport.access import cli as access_cli
from rapport.access import console as access_console
from rapport.access import store as access_store
from rapport.assistant import api as assistant_api
from rapport.assistant import cli as assistant_cli
from rapport.assistant import console as assistant_console
from rapport.assistant import portal as assistant_portal
from rapport.assistant import store as assistant_store
from rapport.collect import api as collect_api
from rapport.collect import cli as collect_cli
from rapport.collect import console as collect_console
from rapport.collect import store as collect_store
from rapport.collect.consumer import ConsumerType, Worker
from rapport.consent import api as consent_api
from rapport.consent import cli as consent_cli
from rapport.consent import console as consent_console
from rapport.consent import portal as consent_portal
from rapport.consent import store as consent_store
from rapport.consent import unsubscribe_page
from rapport.db.metadata import metadata
from rapport.decide import actions_api as decide_actions_api
from rapport.decide import actions_console as decide_actions_console
from rapport.decide import actions_store as decide_actions_store
from rapport.decide import api as decide_api
from rapport.decide import cli as decide_cli
from rapport.decide import console as decide_console
from rapport.decide import portal as decide_portal
from rapport.decide import store as decide_store
from rapport.decide import suggest_api as decide_suggest_api
from rapport.decide import suggest_console as decide_suggest_console
from rapport.decide import suggest_portal as decide_suggest_portal
from rapport.decide import suggest_store as decide_suggest_store
from rapport.decide.consumer import Decide
from rapport.decide.outcomes import Outcomes as DecideOutcomes
from rapport.decide.training import run_retraining
from rapport.decide.usage_consumer import Usage as DecideUsage
from rapport.identity import store as identity_store
from rapport.kb import api as kb_api
from rapport.kb import console as kb_console
from rapport.kb import portal as kb_portal
from rapport.kb import store as kb_store
from rapport.kernel import audit, registry
from rapport.kernel.registry import PersonalData
from rapport.outbound import api as outbound_api
from rapport.outbound import store as outbound_store
from rapport.outbound.worker import run_outbox
from rapport.privacy import api as privacy_api
from rapport.privacy import console as privacy_console
from rapport.privacy import portal as privacy_portal
from rapport.privacy import portal_sign_in
from rapport.privacy import store as privacy_store
from rapport.profiles import api as profiles_api
from rapport.profiles import console as profiles_console
from rapport.profiles import console_merges
from rapport.profiles import portal as profiles_portal
from rapport.profiles import store as profiles_store
from rapport.profiles.processor import Processor
from rapport.service import api as service_api
from rapport.service import cli as service_cli
from rapport.service import console as service_console
from rapport.service import desk_console as service_desk_console
from rapport.service import desk_portal as service_desk_portal
from rapport.service import directory as service_directory
from rapport.service import directory_api as service_directory_api
from rapport.service import influence as service_influence
from rapport.service import macros_api as service_macros_api
from rapport.service import macros_store as service_macros_store
from rapport.service import portal as service_portal
from rapport.service import social_api as service_social_api
from rapport.service import social_store as service_social_store
from rapport.service import store as service_store
from rapport.texts import api as texts_api
from rapport.texts import cli as texts_cli
from rapport.texts import console as texts_console
from rapport.texts import store as texts_store
from rapport.voice import api as voice_api
from rapport.voice import console as voice_console
from rapport.voice import portal as voice_portal
from rapport.voice import store as voice_store
from rapport.voice.consumer import Voice
from rapport.voice.worker import run_voice
from rapport.web.panels import NavEntry, Panel, PortalHook, Sites


@dataclass(frozen=True)
class Context:
    name: str
    stores: tuple[ModuleType, ...] = ()  # modules declaring tables (and PERSONAL_DATA) on `metadata`
    api: tuple[APIRouter, ...] = ()
    pages: tuple[APIRouter, ...] = ()  # console and portal pages
    console_nav: tuple[NavEntry, ...] = ()
    portal_nav: tuple[NavEntry, ...] = ()
    profile_panels: tuple[Panel, ...] = ()  # on the Customer 360
    my_data_panels: tuple[Panel, ...] = ()  # on the portal's "My data"
    portal_hooks: tuple[PortalHook, ...] = ()
    consumers: tuple[ConsumerType, ...] = ()  # what reacts to the log; a consumer's name is its offset
    workers: tuple[Worker, ...] = ()  # loops that run beside the consumers, one per deployment
    commands: tuple[typer.Typer, ...] = ()  # `rapport COMMAND`
    admin_commands: tuple[typer.Typer, ...] = ()  # `rapport admin COMMAND`

    @property
    def personal_data(self) -> tuple[PersonalData, ...]:
        return tuple(entry for store in self.stores for entry in getattr(store, "PERSONAL_DATA", ()))


# Platform contexts first, bottom up; the experience contexts (decide, service, voice, journeys) follow.
CONTEXTS: tuple[Context, ...] = (
    Context("kernel", stores=(audit,)),
    Context("identity", stores=(identity_store,)),
    Context(
        "access",
        stores=(access_store,),
        api=(access_api.router,),
        pages=(access_console.router,),
        console_nav=access_console.NAV,
        admin_commands=(access_cli.admin,),
    ),
    Context(
        "collect",
        stores=(collect_store,),
        api=(collect_api.router,),
        pages=(collect_console.router,),
        console_nav=collect_console.NAV,
        commands=(collect_cli.commands,),
        admin_commands=(collect_cli.admin,),
    ),
    Context(
        "consent",
        stores=(consent_store,),
        api=(consent_api.router, consent_api.public),
        pages=(consent_portal.router, unsubscribe_page.router),
        portal_nav=consent_portal.PORTAL_NAV,
        profile_panels=consent_console.PROFILE_PANELS,
        my_data_panels=consent_portal.MY_DATA_PANELS,
        portal_hooks=(consent_portal.PORTAL_HOOK,),
        commands=(consent_cli.commands,),
    ),
    Context("outbound", stores=(outbound_store,), api=(outbound_api.router,), workers=(run_outbox,)),
    Context(
        "profiles",
        stores=(profiles_store,),
        api=(profiles_api.router,),
        pages=(profiles_console.router, console_merges.router),
        consumers=(Processor,),  # the identity graph, traits, timeline, consent stated in events
        console_nav=profiles_console.NAV,
        profile_panels=profiles_console.PROFILE_PANELS + console_merges.PROFILE_PANELS,
        my_data_panels=profiles_portal.MY_DATA_PANELS,
    ),
    Context(
        "privacy",
        stores=(privacy_store,),
        api=(privacy_api.router,),
        pages=(privacy_console.router, privacy_portal.router, portal_sign_in.router),
        console_nav=privacy_console.NAV,
        portal_nav=privacy_portal.PORTAL_NAV,
    ),
    Context(
        "decide",
        stores=(decide_store, decide_suggest_store, decide_actions_store),
        api=(decide_api.router, decide_api.public, decide_suggest_api.router, decide_actions_api.router),
        pages=(decide_suggest_portal.router, decide_actions_console.router),
        console_nav=decide_actions_console.NAV,
        portal_nav=decide_suggest_portal.PORTAL_NAV,
        # item lines (e-commerce events); usage lines (features, screens, choices); outcomes of next best actions
        consumers=(Decide, DecideUsage, DecideOutcomes),
        profile_panels=(
            *decide_console.PROFILE_PANELS,
            *decide_suggest_console.PROFILE_PANELS,
            *decide_actions_console.PROFILE_PANELS,
        ),
        workers=(run_retraining,),
        my_data_panels=decide_portal.MY_DATA_PANELS,
        commands=(decide_cli.catalog, decide_cli.decide),
    ),
    Context(
        "service",
        # influence apart: the queue cannot import it
        stores=(service_store, service_influence, service_social_store, service_directory, service_macros_store),
        api=(
            *(service_api.router, service_social_api.router, service_macros_api.router),
            *(service_directory_api.router, service_directory_api.public_router),
        ),
        pages=(service_console.router, service_portal.router, service_desk_console.router, service_desk_portal.router),
        console_nav=service_console.NAV + service_desk_console.NAV,
        portal_nav=service_portal.PORTAL_NAV + service_desk_portal.PORTAL_NAV,
        profile_panels=service_console.PROFILE_PANELS,
        commands=(service_cli.commands,),
    ),
    Context(
        "kb",
        stores=(kb_store,),
        api=(kb_api.router, kb_api.public),
        pages=(kb_console.router, kb_portal.router),
        console_nav=kb_console.NAV,
    ),
    Context(
        "texts",
        stores=(texts_store,),
        api=(texts_api.router,),
        pages=(texts_console.router,),
        console_nav=texts_console.NAV,
        commands=(texts_cli.texts, texts_cli.voice),
    ),
    Context(
        "voice",
        stores=(voice_store,),
        api=(voice_api.router, voice_api.public),
        pages=(voice_console.router, voice_portal.router),
        console_nav=voice_console.NAV,
        portal_nav=voice_portal.PORTAL_NAV,
        profile_panels=voice_console.PROFILE_PANELS,
        consumers=(Voice,),  # solved cases, purchases and milestones that may call for a survey
        workers=(run_voice,),
    ),
    Context(
        "assistant",
        stores=(assistant_store,),
        api=(assistant_api.router, assistant_api.public),
        pages=(assistant_console.router,),
        console_nav=assistant_console.NAV,
        portal_hooks=(assistant_portal.PORTAL_HOOK,),
        commands=(assistant_cli.commands,),
    ),
)


def _each(field: str) -> Iterator[object]:
    for context in CONTEXTS:
        yield from getattr(context, field)


def sites() -> Sites:
    """What the console and the portal show, from every context."""
    return Sites(
        console_nav=tuple(_each("console_nav")),  # type: ignore[arg-type]
        portal_nav=tuple(_each("portal_nav")),  # type: ignore[arg-type]
        profile_panels=tuple(_each("profile_panels")),  # type: ignore[arg-type]
        my_data_panels=tuple(_each("my_data_panels")),  # type: ignore[arg-type]
        portal_hooks=tuple(_each("portal_hooks")),  # type: ignore[arg-type]
    )


# The log's consumers, every context's: `rapport serve` runs them all, `/metrics` shows each one's lag,
# `rapport admin replay-unprocessable --consumer NAME` replays what one set aside. Never rename one
# that has run: its name keys its offset.
CONSUMERS: tuple[ConsumerType, ...] = tuple(kind for context in CONTEXTS for kind in context.consumers)


# The contexts' workers: they run where the consumers run (RAPPORT_PROCESSOR=process: the consumers'
# child process; thread: the server; off: nowhere).
WORKERS: tuple[Worker, ...] = tuple(work for context in CONTEXTS for work in context.workers)


def consumer_named(name: str) -> ConsumerType | None:
    return next((kind for kind in CONSUMERS if kind.name == name), None)


REGISTRY = registry.install(entry for context in CONTEXTS for entry in context.personal_data)

__all__ = ["CONSUMERS", "CONTEXTS", "REGISTRY", "WORKERS", "Context", "consumer_named", "metadata", "sites"]
