"""``joignable serve``: the web API (and, later, the UI) on one ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the CLI starts without loading the web stack
    from joignable.bootstrap import Login
    from joignable.web.services import Services


def run_server(app: Any, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``app`` with uvicorn until interrupted: the settings ``joignable serve`` runs with
    (benchmarks/web_chat.py starts its server through here too, so it measures the same)."""
    import uvicorn

    from joignable.center import settle_process

    settle_process()  # the center is loaded: its state lives as long as the process
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        # A stream whose client left unnoticed keeps its task: past a few seconds, stop anyway.
        timeout_graceful_shutdown=5,
        # Stream frames are small JSON documents: compressing each one costs CPU on both ends
        # for little gain on the wire.
        ws_per_message_deflate=False,
    )


@click.command("serve")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="SQLite ledger file")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--no-remember",
    is_flag=True,
    help="never offer web-chat customers 'remember me' (no visitor cookie is set; one set"
    " before is dropped at the customer's next chat)",
)
def serve(db: str, host: str, port: int, no_remember: bool) -> None:
    """Serve the REST API on DB (a new file is seeded with a demo organisation)."""
    from joignable.bootstrap import serve as run

    def ready(services: Services, logins: list[Login]) -> None:
        base = f"http://{host}:{port}"
        if logins:
            click.echo("A demo organisation was created. Logins (shown once, not stored):")
            for x in logins:
                agent = f"  (agent {x.agent_id})" if x.agent_id else ""
                click.echo(f"  {x.role.value:<17} {x.username:<11} {x.password}{agent}")
        click.echo(f"API: {base}/api  -  spec: {base}/openapi.json  -  ledger: {services.db_path}")
        click.echo("How to log in and call it: docs/api.md")

    run(db, host, port, ready, remember_visitors=not no_remember)
