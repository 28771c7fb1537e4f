"""Commands of access: staff tokens (issue, list, revoke; each audited)."""

from __future__ import annotations

from typing import Annotated

import typer

from rapport.access.service import create_token, list_tokens, revoke_token
from rapport.kernel.commands import database, operator, out, refused

admin = typer.Typer()  # `rapport admin ...`


@admin.command("create-token")
def create_token_command(
    role: Annotated[str, typer.Option(help="admin, agent, marketer, analyst or privacy.")],
    name: Annotated[str | None, typer.Option(help="Who or what holds the token.")] = None,
) -> None:
    """Issue a staff API token; prints the token as the last line (it is not shown again)."""
    db = database()
    with refused():
        staff, token = create_token(db, role, name, actor=operator())
    out.print(f"token for {staff.name} ({staff.role}):")
    print(token)


@admin.command("list-tokens")
def list_tokens_command() -> None:
    """List staff tokens: id, holder, role, when issued and revoked (tokens themselves are not kept)."""
    db = database()
    with db.read() as conn:
        for t in list_tokens(conn):
            revoked = f"revoked {t['revoked_at']:%Y-%m-%d %H:%M}" if t["revoked_at"] else "active"
            print(f"{t['id']}\t{t['name']}\t{t['role']}\t{t['created_at']:%Y-%m-%d %H:%M}\t{revoked}")


@admin.command("revoke-token")
def revoke_token_command(token_id: Annotated[int, typer.Argument(help="The id `list-tokens` shows.")]) -> None:
    """Revoke a staff token at once: its API calls and console sessions stop working."""
    db = database()
    with refused():
        revoked = revoke_token(db, token_id, operator())
    out.print(f"token {revoked['id']} ({revoked['name']}, {revoked['role']}) revoked", markup=False)
