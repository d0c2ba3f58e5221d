"""`python -m bot …`: run the assistant, train, prepare the Dutch pipeline, manage data."""

from __future__ import annotations

import argparse
import os
import sys

from bot import launcher, nlp_pipeline, retention
from bot.core.commands import refused
from bot.settings import Settings, SettingsError, load


def cmd_prepare_nlp(args: argparse.Namespace, settings: Settings) -> int:
    ident = nlp_pipeline.prepare(settings.spacy_model_dir, launcher.rasa_python(settings))
    print(f"Nederlandse pijplijn: {nlp_pipeline.describe(ident)}")
    return 0


def cmd_build_widget(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web import widget_build

    changed = widget_build.build()
    print(f"{widget_build.TARGET.relative_to(settings.root)}: {'gebouwd' if changed else 'al actueel'}")
    return 0


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    try:
        print(launcher.ensure_model(settings, force=args.force))
    except launcher.RasaRuntimeRefused as exc:
        return refused(exc)
    return 0


def _prepare_data(settings: Settings) -> None:
    """Schema upgrades; demo applications and the demo medewerker in a demo run only."""
    from bot import migrations
    from bot.handoff import demo as demo_staff
    from bot.status import demo

    migrations.upgrade(settings.database_url)
    if settings.production:
        demo_staff.check_production(settings)  # refuses to start with a demo account
        demo.check_production(settings)  # or with demo applications
        return
    rows = demo.load_demo_data(settings.database_url)
    print("\nDemo-aanvragen (alleen voor de demo; aanvraagnummer / verificatiecode / gemeente / status):")
    for row in rows:
        print("  " + " / ".join(str(x) for x in row))
    demo_staff.ensure_demo_user(settings)


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    report = retention.purge(settings)
    print(
        f"Verwijderd (ouder dan {settings.retention_days} dagen): {report.conversations} "
        f"gesprekken, {report.tickets} afgeronde tickets, {report.questions} vragen voor de redactie, "
        f"{report.mails} e-mails van de helpdesk."
    )
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core import logs

    # The launcher's lines in the stack's log format (KW_LOG_FORMAT; docs/operations.md, "Logs").
    logs.configure("launcher", settings.log_format, settings.log_level)
    # Before anything else: beside a running stack (or its orphans) a start changes no data and
    # prints no demo credentials.
    taken = launcher.check_ports(launcher.stack_ports(settings, gateway=not args.no_gateway))
    if taken:
        print(taken, file=sys.stderr, flush=True)
        return 1
    try:
        model = launcher.ensure_model(settings)
    except launcher.RasaRuntimeRefused as exc:
        return refused(exc)
    _prepare_data(settings)
    cmd_purge(args, settings)
    stack = launcher.Stack(settings, model, gateway=not args.no_gateway)
    print("Processen starten…", flush=True)
    launcher.stop_on_signals()
    try:
        stack.start()
    except KeyboardInterrupt:
        stack.stop()
        return 0
    except RuntimeError as exc:  # a child that stopped or did not get ready; start() stopped the rest
        print(f"De assistent start niet: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"""
De assistent draait.
  Rasa (alleen lokaal):  {", ".join(settings.rasa_urls)}
  Actieserver:           http://{settings.host}:{settings.actions_port}""")
    if any(s.name == "gateway" for s in stack.services):
        print(f"  Website met widget:    {settings.gateway_url}/")
        print(f"  Helpdesk-console:      {settings.gateway_url}/helpdesk")
    if any(s.name == "mailcatcher" for s in stack.services):
        print(f"  Mailcatcher:           smtp://{settings.host}:{settings.mail.catcher_port} (geen echte mail)")
        print(f"  Mails van de demo:     {settings.var_dir / 'mail' / 'new'} (Maildir: één bestand per mail;")
        print(f"                         lezen met: mutt -f {settings.var_dir / 'mail'})")
    print(
        f"""
Praten met de assistent:
  curl -s -X POST "{settings.rasa_url}/webhooks/rest/webhook?token=$KW_RASA_TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{{"sender": "test", "message": "Welke gebieden doen mee?"}}'
Het token van Rasa (KW_RASA_TOKEN) staat in var/secrets.json; Rasa's REST-kanaal en HTTP-API
weigeren elk verzoek zonder dat token, de actieserver elk verzoek zonder het token dat Rasa stuurt.
Stoppen: Ctrl-C.""",
        flush=True,
    )
    return stack.wait()


def cmd_run_cluster(args: argparse.Namespace, settings: Settings) -> int:
    from bot import cluster

    for name, value in cluster.DEFAULTS.items():
        os.environ.setdefault(name, value)  # child_env() starts from os.environ
    settings = load()
    # Before anything else, as `run` does: beside a running cluster (or its orphans, or a
    # foreign program) a start changes no data and starts nothing.
    taken = launcher.check_ports(cluster.cluster_ports(settings, cluster.Ports.after(settings)))
    if taken:
        print(taken, file=sys.stderr, flush=True)
        return 1
    cluster.ensure_databases(settings)
    try:
        model = launcher.ensure_model(settings)
    except launcher.RasaRuntimeRefused as exc:
        return refused(exc)
    _prepare_data(settings)
    stack = cluster.Cluster(settings, model)
    print("Cluster starten (twee gateways, twee Rasa-replica's, twee actieservers, HAProxy)…", flush=True)
    launcher.stop_on_signals()
    try:
        stack.start(timeout_s=600)
    except KeyboardInterrupt:
        stack.stop()
        return 0
    print(
        f"""
Het cluster draait.
  Website met widget:    {settings.gateway_url}/   (HAProxy, verdeelt over {stack.ports.gateways})
  Via HTTPS:             https://localhost:{stack.ports.tls}/   (TLS eindigt in HAProxy; zelfondertekend certificaat)
  Helpdesk-console:      {settings.gateway_url}/helpdesk
  Rasa via HAProxy:      {settings.rasa_url}   (replica's op {stack.ports.rasas})
  Actieservers:          http://{settings.host}:{settings.actions_port}   (replica's op {stack.ports.action_servers})
  Opslag:                PostgreSQL (gesprekken, app-database), Redis (locks, pub/sub)
Stoppen: Ctrl-C.""",
        flush=True,
    )
    return stack.wait()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Kansrijke Wijk Assistent")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="alles starten (traint eerst als dat nodig is)")
    p.add_argument("--no-gateway", action="store_true", help="zonder web-gateway")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("run-cluster", help="de productie-opstelling op deze machine: alles dubbel achter HAProxy")
    p.set_defaults(func=cmd_run_cluster)
    p = sub.add_parser("train", help="model trainen als data of configuratie veranderde")
    p.add_argument("--force", action="store_true", help="altijd trainen")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("purge", help="gesprekken en tickets ouder dan de bewaartermijn verwijderen")
    p.set_defaults(func=cmd_purge)
    p = sub.add_parser("prepare-nlp", help="de Nederlandse spaCy-pijplijn voorbereiden")
    p.set_defaults(func=cmd_prepare_nlp)
    p = sub.add_parser("build-widget", help="bot/web/static/widget.js bouwen uit bot/web/static/widget/")
    p.set_defaults(func=cmd_build_widget)
    # The packages' own commands, imported here: `python -m bot --help` needs none of them loaded
    # before the parser is built.
    from bot import backup
    from bot.handoff import cli as handoff_cli
    from bot.knowledge import check as kb_check
    from bot.status import cli as status_cli

    status_cli.add_commands(sub)
    handoff_cli.add_commands(sub)
    kb_check.add_commands(sub)
    backup.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load()
    except SettingsError as exc:
        print(f"Instelling ontbreekt of is ongeldig: {exc}", file=sys.stderr)
        return 2
    return int(args.func(args, settings) or 0)
