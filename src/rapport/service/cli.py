"""Commands of the service desk: a mail server pipes customers' mail to `rapport inbound-mail`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rapport.kernel.commands import database, err, out

commands = typer.Typer()  # top-level: `rapport inbound-mail`


@commands.command("inbound-mail")
def inbound_mail(
    file: Annotated[
        Path | None,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="One email (RFC 5322); standard input if left out."
        ),
    ] = None,
) -> None:
    """Turn a mail to the service address into a case, or a message on the case it answers; for a
    mail server to pipe each such mail to (an alias `support: "|rapport inbound-mail"`).

    Exit codes follow sysexits, as MTAs read them: 0 when the mail is stored (a case opened or
    continued; or kept with the reason when it cannot be read or is an auto-reply: nothing is lost),
    65 for a mail over the size limit (bounced to its sender), 75 to make the server try again later
    (the database could not be reached)."""
    import sys

    import sqlalchemy as sa

    from rapport.service.mail import receive_mail
    from rapport.service.mime import MAX_MAIL_BYTES

    stream = file.open("rb") if file else sys.stdin.buffer
    with stream:
        raw = stream.read(MAX_MAIL_BYTES + 1)
    if len(raw) > MAX_MAIL_BYTES:
        err.print(f"refused: the mail is over {MAX_MAIL_BYTES} bytes", markup=False)
        raise typer.Exit(65)
    try:
        received = receive_mail(database(migrate=False), raw, via="pipe")
    except (sa.exc.OperationalError, sa.exc.InterfaceError, typer.Exit) as exc:  # said above if a setting
        err.print(f"cannot store it now; try again later: {getattr(exc, 'orig', '') or 'see above'}", markup=False)
        raise typer.Exit(75) from None
    out.print(f"{received.outcome}: {received.reason}", markup=False)
