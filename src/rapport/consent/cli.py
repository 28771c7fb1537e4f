"""Commands of consent: acting on a mail sent to the `mailto:` unsubscribe address."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rapport.kernel.commands import database, err, out
from rapport.kernel.errors import DomainError

commands = typer.Typer()  # top-level: `rapport unsubscribe-mail`


@commands.command("unsubscribe-mail")
def unsubscribe_mail(
    file: Annotated[
        Path | None,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="One email (RFC 5322); standard input if left out."
        ),
    ] = None,
) -> None:
    """Act on a mail sent to the `mailto:` unsubscribe address; for a mail server to pipe it to.

    Exit codes follow sysexits, as MTAs read them: 65 bounces a mail that is no valid request, 75
    makes the server try again later (the database could not be reached), 0 means withdrawn."""
    import sys

    import sqlalchemy as sa

    from rapport.consent.unsubscribe import unsubscribe_by_mail

    raw = file.read_bytes() if file else sys.stdin.buffer.read()
    try:
        target = unsubscribe_by_mail(database(migrate=False), raw)
    except DomainError as exc:
        err.print(f"not an unsubscribe request: {exc.message}", markup=False)
        raise typer.Exit(65) from None
    except (sa.exc.OperationalError, typer.Exit) as exc:  # a bad setting or an old schema is said above
        err.print(f"cannot record it now; try again later: {getattr(exc, 'orig', '') or 'see above'}", markup=False)
        raise typer.Exit(75) from None
    out.print(f"{target.contact_point}: {target.purpose} by {target.channel} withdrawn")
