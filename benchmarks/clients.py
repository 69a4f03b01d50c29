"""CLI `ask` through a running server against the server's own answer latency, in one run (issue 15).

    python -m benchmarks.clients                  # 8 questions, each asked both ways
    python -m benchmarks.clients --with-local     # also `ask --local` while serve runs (loads a second model)

Starts `python -m assistant serve` on the configured model (ESSAY_ASSISTANT_*
settings, a temporary data directory), waits for its warm-up, then for each
question, in alternating order so the machine's load drifts alike for both:

- server: POST /api/ask from a warm HTTP client in this process: the time
  the server takes to answer, plus a loopback round trip;
- cli: a new `python -m assistant ask QUESTION` process, start to exit, as
  a user runs it: interpreter start, imports, finding the server, the answer,
  printing. Its peak resident memory comes from wait4.

Each timed arm follows an untimed throwaway question, so neither finds the
other's identical prompt already in the model's KV cache.

Writes clients.json and clients.md to --out (benchmarks/results). Wall-clock
on a shared machine: read the ratio, measured within this run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from assistant.evals.dataset import load_dataset

THROWAWAY = ["What is the essay about?", "Who is the author?", "What is the title of the essay?"]
TARGET_RATIO = 1.2  # issue 15: a CLI ask with serve running within 1.2x of the server's own answer latency


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # peak resident set size
            return int(line.split()[1])
    return 0


def _run_cli(args: list[str], data_dir: Path) -> tuple[float, int, int, str]:
    """Seconds from start to exit, exit code, peak RSS in KB, stdout."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", *args, "--data-dir", str(data_dir)],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return elapsed, proc.returncode, usage.ru_maxrss, out.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument(
        "--with-local", action="store_true", help="also time `ask --local` (today's path without a server)"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    items = [i for i in load_dataset() if not i.history][: args.questions]
    with tempfile.TemporaryDirectory(prefix="bench-clients-") as tmp:
        data_dir, port = Path(tmp) / "data", _free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(Path(tmp) / "serve.log", "wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        rows = []
        try:
            http = httpx.Client(base_url=url, timeout=900, trust_env=False)
            deadline = time.monotonic() + 900
            while not (data_dir / "server.json").exists():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit((Path(tmp) / "serve.log").read_text())
                time.sleep(0.5)
            http.post("/api/ask", json={"question": "What is the essay about?"}).raise_for_status()  # after the warm-up
            for n, item in enumerate(items):
                row = {"id": item.id, "question": item.question}
                arms = ["server", "cli"] if n % 2 == 0 else ["cli", "server"]
                if args.with_local:
                    arms.append("local")
                for arm in arms:
                    # A throwaway question first, so no arm finds the previous arm's identical prompt in the KV cache.
                    http.post("/api/ask", json={"question": THROWAWAY[len(rows) % len(THROWAWAY)]}).raise_for_status()
                    if arm == "server":
                        started = time.perf_counter()
                        response = http.post("/api/ask", json={"question": item.question})
                        row["server_s"] = time.perf_counter() - started
                        row["server_ok"] = response.status_code == 200
                        row["server_text"] = response.json().get("text")
                    else:
                        extra = ["--local"] if arm == "local" else []
                        elapsed, code, peak_kb, out = _run_cli(["ask", item.question, "--json", *extra], data_dir)
                        row[f"{arm}_s"], row[f"{arm}_ok"], row[f"{arm}_peak_mb"] = elapsed, code == 0, peak_kb / 1024
                        row[f"{arm}_text"] = json.loads(out)["text"] if code == 0 else None
                rows.append(row)
                print(f"{item.id}: server {row['server_s']:.2f} s, cli {row['cli_s']:.2f} s", flush=True)
            server_peak_mb = _rss_kb(server.pid) / 1024
        finally:
            server.terminate()
            server.wait(timeout=60)
            log.close()

    server_p50 = statistics.median(r["server_s"] for r in rows)
    cli_p50 = statistics.median(r["cli_s"] for r in rows)
    result = {
        "questions": len(rows),
        "errors": sum(not r[f"{a}_ok"] for r in rows for a in ("server", "cli", "local") if f"{a}_ok" in r),
        "same_answer": sum(r["server_text"] == r["cli_text"] for r in rows),
        "server_p50_s": round(server_p50, 3),
        "cli_p50_s": round(cli_p50, 3),
        "ratio_of_medians": round(cli_p50 / server_p50, 3),
        "median_of_ratios": round(statistics.median(r["cli_s"] / r["server_s"] for r in rows), 3),
        "cli_overhead_p50_s": round(statistics.median(r["cli_s"] - r["server_s"] for r in rows), 3),
        "target_ratio": TARGET_RATIO,
        "server_peak_rss_mb": round(server_peak_mb),
        "cli_peak_rss_mb": round(max(r["cli_peak_mb"] for r in rows)),
        "model": os.environ.get("ESSAY_ASSISTANT_MODEL", "local"),
        "rows": rows,
    }
    if args.with_local:
        result["local_p50_s"] = round(statistics.median(r["local_s"] for r in rows), 3)
        result["local_peak_rss_mb"] = round(max(r["local_peak_mb"] for r in rows))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "clients.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "clients.md").write_text(_markdown(result), encoding="utf-8")
    print(_markdown(result))
    return 0 if result["errors"] == 0 else 1


def _markdown(r: dict) -> str:
    lines = [
        "# CLI ask through a running server (issue 15)",
        "",
        f"{r['questions']} questions, each asked both ways in alternating order, model `{r['model']}`; "
        f"{r['errors']} errors; {r['same_answer']} of {r['questions']} answers identical both ways.",
        "",
        "| | p50 latency | peak RSS |",
        "|---|---|---|",
        f"| server's own answer (POST /api/ask, warm client) | {r['server_p50_s']:.2f} s "
        f"| {r['server_peak_rss_mb']} MB (the server) |",
        f"| `essay-assistant ask` process through the server | {r['cli_p50_s']:.2f} s | {r['cli_peak_rss_mb']} MB |",
    ]
    if "local_p50_s" in r:
        lines.append(
            f"| `essay-assistant ask --local` while serve runs | {r['local_p50_s']:.2f} s "
            f"| {r['local_peak_rss_mb']} MB |"
        )
    lines += [
        "",
        f"Ratio CLI / server: {r['ratio_of_medians']:.2f}x "
        f"(median of per-question ratios {r['median_of_ratios']:.2f}x; target {r['target_ratio']}x). "
        f"The CLI's own cost, median: {r['cli_overhead_p50_s']:.2f} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
