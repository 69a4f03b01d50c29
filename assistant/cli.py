"""The ``essay-assistant`` command line: index, ask, chat, eval, feedback, serve.

Flags override ``ESSAY_ASSISTANT_*`` environment variables, which override
the defaults in ``Settings``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from assistant.errors import EssayAssistantError, InvalidInput
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.answer import Answer

log = logging.getLogger("assistant")


# flag -> (Settings field, type, help); help comes from the field description when None.
_SETTING_FLAGS = {
    "--data-dir": ("data_dir", Path),
    "--chroma-path": ("chroma_path", Path),
    "--chroma-host": ("chroma_host", str),
    "--chroma-port": ("chroma_port", int),
    "--collection": ("collection", str),
    "--model": ("model", str),
    "--base-url": ("base_url", str),
    "--embedding": ("embedding", str),
    "--k": ("k", int),
    "--chunk-size": ("chunk_size", int),
    "--chunk-overlap": ("chunk_overlap", int),
    "--context-budget": ("context_budget", int),
}


def _settings_parser() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("settings (also ESSAY_ASSISTANT_<NAME> environment variables)")
    for flag, (field, kind) in _SETTING_FLAGS.items():
        info = Settings.model_fields[field]
        group.add_argument(flag, dest=field, type=kind, default=None, help=info.description)
    parent.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    return parent


_SERVER_NOTE = (
    "When `essay-assistant serve` runs on the same data directory, the question goes to it and its "
    "loaded model (login from ESSAY_ASSISTANT_AUTH); the output is the same."
)
_LOCAL_HELP = "answer in this process even when a server is running (loads the model here)"
# Settings that do not change an answer: with only these given, a running server answers.
_NEUTRAL_SETTINGS = {"data_dir"}


_HELP = {  # command: (its line in --help, its description)
    "index": (
        "index the bundled essay or your own .txt/.md files",
        "Index files (or folders of .txt/.md files). Without paths, index the bundled essay. "
        "Running it again is safe: unchanged chunks are kept, changed documents are replaced.",
    ),
    "ask": (
        "answer one question",
        "Answer one question and exit. " + _SERVER_NOTE,
    ),
    "chat": (
        "chat in the terminal, with follow-up questions",
        "A terminal chat that streams answers and remembers the conversation. "
        "Type /clear to forget it, /exit or Ctrl-D to leave. " + _SERVER_NOTE,
    ),
    "eval": (
        "score answers against the reference Q&A",
        "Run the reference Q&A through the assistant (on a fresh temporary index of the "
        "bundled essay), print a summary and write JSON and Markdown reports.",
    ),
    "feedback": (
        "turn liked answers from the UI into eval cases",
        "Read DATA_DIR/feedback.jsonl (thumbs from the web UI) and print liked answers "
        "as eval items (JSONL) to review and append to evals/data/qa.jsonl.",
    ),
    "serve": (
        "open the web UI (the default for `python -m assistant`)",
        "Serve the chat UI and its /chat API. Binds to 127.0.0.1 unless --host says otherwise.",
    ),
}


def _at_least_one(text: str) -> int:
    """An argparse type: a count of at least 1, refused with a usage message rather than a traceback later."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _settings_parser()
    parser = argparse.ArgumentParser(
        prog="essay-assistant",
        description="Ask questions about an essay. Answers come only from its text and cite the passages used. "
        "Runs offline on the bundled essay and model by default.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands = {
        name: sub.add_parser(name, parents=[common], help=line, description=description)
        for name, (line, description) in _HELP.items()
    }

    p = commands["index"]
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument("--rebuild", action="store_true", help="also remove documents that are not in PATHs")

    p = commands["ask"]
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the answer and its sources as JSON")
    p.add_argument("--local", action="store_true", help=_LOCAL_HELP)

    p = commands["chat"]
    p.add_argument("--local", action="store_true", help=_LOCAL_HELP)

    p = commands["eval"]
    p.add_argument("--dataset", type=Path, help="eval items, JSONL (default: the bundled evals/data/qa.jsonl)")
    p.add_argument(
        "--documents",
        type=Path,
        nargs="+",
        metavar="PATH",
        help="index these files and folders, and only these, for the run (default: the bundled essay)",
    )
    p.add_argument(
        "--judge",
        metavar="MODEL",
        help="also grade answers with this model ('openai:gpt-4o-mini', 'local', ...); reported, never gated",
    )
    p.add_argument("--judge-base-url", metavar="URL", help="the judge's OpenAI-compatible server")
    p.add_argument("--out", type=Path, default=Path("eval-reports"), help="report directory (default: eval-reports)")
    p.add_argument("--limit", type=int, help="only the first N items (a quick look; the gate needs all)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="go on with a run that was stopped: answer only the items its journal (OUT/eval.partial.jsonl) lacks",
    )
    p.add_argument(
        "--concurrency",
        type=_at_least_one,
        default=1,
        metavar="N",
        help="answer N items at once on the model's slots: faster, but latencies then include the batch (default: 1)",
    )
    p.add_argument(
        "--baseline", type=Path, help="baseline JSON (default for --check: the bundled evals/data/baseline.json)"
    )
    p.add_argument("--check", action="store_true", help="exit 1 if the run regresses against the baseline")
    p.add_argument("--update-baseline", action="store_true", help="write this run as the new baseline to --baseline")
    actions = p.add_subparsers(dest="eval_action", metavar="ACTION")
    d = actions.add_parser(
        "draft",
        help="draft eval items from a document with the local model, for a person to review",
        description="Propose questions with reference answers, required facts and verbatim supporting quotes taken "
        "from DOC's own sentences. Every item is marked draft: read and fix each one, then delete its "
        '"draft" field, before it gates anything.',
    )
    d.add_argument("document", type=Path, metavar="DOC", help="a .txt or .md file")
    d.add_argument("--out", dest="draft_out", type=Path, required=True, help="where to write the drafts (JSONL)")
    d.add_argument("--count", type=int, default=12, help="how many items to draft (default 12)")
    p.add_argument(
        "--compare",
        nargs="+",
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="run several configurations side by side, e.g. --compare k=2 k=4 chunk_size=600,chunk_overlap=100",
    )

    p = commands["feedback"]
    p.add_argument("--file", type=Path, help="feedback file (default: DATA_DIR/feedback.jsonl)")

    p = commands["serve"]
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--auth", metavar="USER:PASS", help="require this login")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {
        field: getattr(args, field) for field, _ in _SETTING_FLAGS.values() if getattr(args, field, None) is not None
    }
    return Settings(**overrides)


def _print_streamed(bot, question: str, history: list[dict] | None = None) -> Answer:
    """Print the verified sentences as they pass, then the cited sentences; return the answer."""
    for event in bot.stream(question, history):
        if isinstance(event, str):
            sys.stdout.write(event)
            sys.stdout.flush()
            continue
        sys.stdout.write("\n")
        if event.closest:
            sys.stdout.write("Closest passages:\n")
        for s in event.shown_sources:
            quote = textwrap.shorten(s.cited_text or s.text, 160, placeholder=" ...")
            sys.stdout.write(f"  [{s.citation}] {s.doc_id}:{s.cited_start}-{s.cited_end}  {quote}\n")
        return event
    raise AssertionError("stream ended without an answer")


def _cmd_index(args, settings: Settings) -> int:
    from assistant.assistant import Assistant

    report = Assistant(settings).index(args.paths or None, rebuild=args.rebuild)
    for r in report.synced:
        print(f"{r.doc_id}: {r.added} chunks added, {r.removed} removed, {r.unchanged} unchanged")
    if report.removed:
        print(f"removed {report.removed} chunks of documents no longer indexed")
    for reason in report.skipped.values():
        print(f"skipped: {reason}", file=sys.stderr)
    return 1 if report.skipped else 0


def _answerer(args, settings: Settings):
    """The running server's client when one serves this data directory, else an in-process Assistant."""
    given = {field for field, _ in _SETTING_FLAGS.values() if getattr(args, field, None) is not None}
    if not args.local and not given - _NEUTRAL_SETTINGS:
        from assistant.remote.address import find_server
        from assistant.remote.client import RemoteAssistant

        address = find_server(settings.data_dir, settings.login)
        if address is not None:
            log.info("asking the server at %s (process %d); --local answers in this process", address.url, address.pid)
            return RemoteAssistant(address.url, auth=settings.login)
    elif not args.local:
        log.info("answering in this process: %s change the answer, so a running server is not used", sorted(given))
    from assistant.assistant import Assistant

    return Assistant(settings)


def _cmd_ask(args, settings: Settings) -> int:
    bot = _answerer(args, settings)
    if args.json:
        print(json.dumps(bot.ask(args.question).to_dict(), ensure_ascii=False, indent=2))
        return 0
    _print_streamed(bot, args.question)
    return 0


def _cmd_chat(args, settings: Settings) -> int:
    bot = _answerer(args, settings)
    history: list[dict] = []
    print("Ask about the essay. /clear forgets the conversation, /exit leaves.")
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if question in ("/exit", "/quit"):
            return 0
        if question == "/clear":
            history = []
            print("(conversation cleared)")
            continue
        if not question:
            continue
        try:
            answer = _print_streamed(bot, question, history)
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
        except InvalidInput as exc:  # reported, and the chat carries on
            print(f"error: {exc}", file=sys.stderr)
        except KeyboardInterrupt:
            print("\n(stopped)")


def _parse_overrides(spec: str) -> dict:
    overrides = {}
    for pair in spec.split(","):
        key, sep, value = pair.partition("=")
        if not sep or key.strip() not in Settings.model_fields:
            raise ValueError(f"--compare {spec!r}: expected KEY=VALUE pairs with keys from the settings, e.g. k=4")
        overrides[key.strip()] = value.strip()
    return overrides


def _cmd_eval_draft(args, settings: Settings) -> int:
    from assistant.evals.dataset import load_dataset, validate_dataset
    from assistant.evals.draft import draft_items, duplicates
    from assistant.evals.metrics import facts_found
    from assistant.index.documents import load_document
    from assistant.models.chat import make_chat_model

    doc = load_document(args.document, max_bytes=int(settings.max_file_mb * 2**20))
    if args.draft_out.exists():
        print(f"error: {args.draft_out} exists; drafts never overwrite a file", file=sys.stderr)
        return 2
    drafts = draft_items(make_chat_model(settings), doc, args.count)
    args.draft_out.parent.mkdir(parents=True, exist_ok=True)
    args.draft_out.write_text("".join(d.model_dump_json() + "\n" for d in drafts), encoding="utf-8")
    invalid = {p.split("'")[1] for p in validate_dataset(drafts, doc.text)}
    valid = [
        d
        for d in drafts
        if d.id not in invalid and (not d.answerable or all(facts_found(d.supporting_quotes[0], d.required_facts)))
    ]
    repeated = duplicates(drafts, load_dataset())  # against the bundled items: none for a document of your own
    print(f"{len(drafts)} drafts written to {args.draft_out}; {len(valid)} valid as written", end="")
    print(f", {len(repeated)} repeat a bundled item" if repeated else "", end=".\n")
    print('Drafts need a human read before they gate anything: fix each one, then delete its "draft" field.')
    return 0


def _cmd_eval(args, settings: Settings) -> int:
    if args.eval_action == "draft":
        return _cmd_eval_draft(args, settings)
    from assistant.evals.dataset import load_dataset
    from assistant.evals.judge import make_judge
    from assistant.evals.report import columns, summary_table, write_reports
    from assistant.evals.runner import (
        BaselineRefused,
        compare,
        default_baseline_path,
        gate,
        load_corpus,
        load_items,
        refuse_baseline,
        run_eval,
        update_baseline,
    )

    if (args.check or args.update_baseline) and (drafts := [i.id for i in load_dataset(args.dataset) if i.draft]):
        raise BaselineRefused(
            f"{len(drafts)} items are drafts ({', '.join(drafts[:3])}...): review them and delete their "
            '"draft" field before they gate anything'
        )
    items = load_items(args.dataset, args.limit, load_corpus(args.documents))
    if args.update_baseline:
        refuse_baseline(args.baseline, limited=bool(args.limit))  # before minutes of answering, not after
    if args.compare:
        if args.resume:
            print("error: --resume continues one run, not a --compare", file=sys.stderr)
            return 2
        try:
            configs = {spec: Settings(**(settings.model_dump() | _parse_overrides(spec))) for spec in args.compare}
        except (ValueError, ValidationError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        reports = compare(items, configs, args.out, dataset_path=args.dataset, documents=args.documents)
        print(summary_table({spec: r["aggregate"] for spec, r in reports.items()}))
        return 0

    judge = make_judge(settings, args.judge, args.judge_base_url) if args.judge else None  # a down judge fails now
    journal = args.out / "eval.partial.jsonl"
    try:
        report = run_eval(
            items,
            settings,
            dataset_path=args.dataset,
            documents=args.documents,
            judge=judge,
            concurrency=args.concurrency,
            journal=journal,
            resume=args.resume,
        )
    except KeyboardInterrupt:
        print(f"\nstopped: the answers so far are in {journal}; add --resume to go on", file=sys.stderr)
        raise
    json_path, md_path = write_reports(report, args.out)
    journal.unlink()  # the report holds every answer now
    print(summary_table(columns(report)))
    print(f"\nreports: {json_path}, {md_path}")
    if args.update_baseline:
        update_baseline(report, args.baseline, limited=bool(args.limit))
        print(f"baseline written to {args.baseline}")
    if args.check:
        baseline_path = args.baseline or default_baseline_path()
        failures = gate(report, baseline_path)
        for failure in failures:
            print(f"REGRESSION: {failure}", file=sys.stderr)
        print(f"gate against {baseline_path}: {'FAILED' if failures else 'passed'}")
        return 1 if failures else 0
    return 0


def _cmd_feedback(args, settings: Settings) -> int:
    from assistant.ui.feedback import feedback_to_cases

    path = args.file or settings.data_dir / "feedback.jsonl"
    if not path.is_file():
        print(f"error: no feedback yet at {path}; rate answers in the web UI first", file=sys.stderr)
        return 2
    for case in feedback_to_cases(path):
        print(json.dumps(case, ensure_ascii=False))
    return 0


def _cmd_serve(args, settings: Settings) -> int:
    from assistant.assistant import Assistant
    from assistant.remote.address import ServerAddress, local_url, publish, unpublish
    from assistant.ui.app import serve

    auth = settings.login  # ESSAY_ASSISTANT_AUTH, unless --auth says otherwise
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            print("error: --auth must look like USER:PASS", file=sys.stderr)
            return 2
        auth = (user, password)
    if auth and not "".join(auth).isascii():  # the JSON API (FastAPI's HTTPBasic) would refuse it every time
        print("error: the login must be ASCII: the JSON API reads HTTP Basic logins as ASCII", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1") and not auth:
        log.warning("serving on %s without --auth: anyone who can reach this address can use it", args.host)
    bot = Assistant(settings)
    bot.ensure_index()
    address = ServerAddress(local_url(args.host, args.port), os.getpid(), bot.corpus_version, auth is not None)
    try:
        app = serve(bot, args.host, args.port, auth, block=False)
    except OSError as exc:
        print(
            f"error: cannot serve on {args.host}:{args.port}: {exc}. Is the port in use? Try --port.", file=sys.stderr
        )
        return 2
    except ValueError as exc:  # gradio's launch() fetches its own page once and gives up after 3 s
        print(
            f"error: the web UI on {args.host}:{args.port} did not start: {exc} "
            "(gradio's words). Its page did not answer gradio's check: a proxy in HTTP_PROXY without "
            "NO_PROXY=127.0.0.1,localhost does this, and so does a machine too busy to answer in 3 s.",
            file=sys.stderr,
        )
        return 2
    # ask, chat and Assistant.connect() find the server (and its loaded model) through this file.
    publish(settings.data_dir, address)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)  # `kill` runs the cleanup below too
    print(f"essay-assistant is running at {address.url} (Ctrl-C to stop)", flush=True)
    try:
        app.block_thread()
    finally:
        unpublish(settings.data_dir)
        signal.signal(signal.SIGTERM, previous)
        app.close(verbose=False)
    return 0


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(0)


_COMMANDS = {
    "index": _cmd_index,
    "ask": _cmd_ask,
    "chat": _cmd_chat,
    "eval": _cmd_eval,
    "feedback": _cmd_feedback,
    "serve": _cmd_serve,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show a character gets "?", not a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    args = build_parser().parse_args(argv or ["serve"])
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "bm25s", "chromadb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = settings_from_args(args)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"]) or "settings"
            print(f"error: invalid setting {where}: {err['msg']}", file=sys.stderr)
        return 2
    try:
        return _COMMANDS[args.command](args, settings)
    except KeyboardInterrupt:
        return 130
    except EssayAssistantError as exc:  # the message is the whole story: no traceback
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
