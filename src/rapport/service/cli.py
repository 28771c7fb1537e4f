"""Commands of the service desk: a mail server pipes customers' mail to `rapport inbound-mail`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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


@commands.command("import-mentions")
def import_mentions(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or JSON Lines.")],
    format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl; by default from the file's extension")
    ] = None,
) -> None:
    """Import social mentions from a file: CSV with a header row, or JSON Lines, with the fields
    network, handle, text, url, followers, posted_at, needs_service. Each row is taken or refused on
    its own (refusals printed with their row number and reason); a row whose url was imported already
    adds nothing. Exit code 0 when every row was taken, 1 when some were refused, 2 for a file that
    cannot be read."""
    import csv
    import io
    import json

    from rapport.kernel.commands import operator
    from rapport.kernel.errors import DomainError
    from rapport.service.social import mention_from_row, record_mention

    kind = (format or file.suffix.lstrip(".")).lower()
    kind = {"ndjson": "jsonl", "json": "jsonl"}.get(kind, kind)
    if kind not in ("csv", "jsonl"):
        err.print("say --format csv or --format jsonl (the extension does not tell)", markup=False)
        raise typer.Exit(2)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError) as exc:
        err.print(f"cannot read {file}: {exc}", markup=False)
        raise typer.Exit(2) from None
    rows: list[tuple[int, Any]] = []
    if kind == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for number, row in enumerate(reader, start=2):
            rows.append((number, {k: v for k, v in row.items() if k is not None and v is not None}))
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    rows.append((number, ValueError(f"not JSON: {exc.msg}")))
    db, actor = database(migrate=False), operator()
    taken = refused = cases = 0
    for number, row in rows:
        try:
            if isinstance(row, ValueError):
                raise row
            done = record_mention(db, mention_from_row(row), actor=actor)
        except (DomainError, ValueError) as exc:
            refused += 1
            code = getattr(exc, "code", "invalid_row")
            err.print(f"row {number}: {code}: {getattr(exc, 'message', None) or exc}", markup=False)
            continue
        taken += 1
        cases += done["case_id"] is not None and not done["duplicate"]
    out.print(f"{taken} mention(s) taken, {cases} case(s) opened or continued, {refused} refused", markup=False)
    raise typer.Exit(1 if refused else 0)
