#!/usr/bin/env python
"""Lighthouse on the storefront's home, list and detail pages, with mobile settings.

    .venv/bin/python bench/lighthouse.py                  # its own demo shop, scores printed
    .venv/bin/python bench/lighthouse.py --write          # ... and kept in BENCHMARKS.md
    .venv/bin/python bench/lighthouse.py --url http://127.0.0.1:8000   # a shop already running

Lighthouse comes from npm, installed into bench/lighthouse/node_modules (``npm ci`` there, never
globally), and drives Debian's chromium (CHROME_PATH, default /usr/bin/chromium) headless
without a sandbox. Without ``--url`` the script builds a demo shop as `make run` does (SQLite and
media in a temporary folder, ``load_demo``, DEBUG on, ``runserver``), opens each page and the
pictures it names once (as any visit before would have), then runs Lighthouse
LIGHTHOUSE_RUNS times (default 3) per page and reports the median run by performance score.
Reports (JSON) are kept in artifacts/lighthouse/.

The goals (issue 14): cumulative layout shift < 0.1, performance >= 0.95, accessibility and SEO
1.0, no errors in the browser console.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench" / "lighthouse"
LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
REPORTS = ROOT / "artifacts" / "lighthouse"
BENCHMARKS = ROOT / "BENCHMARKS.md"
PYTHON = ROOT / ".venv" / "bin" / "python"
PORT = int(os.environ.get("LIGHTHOUSE_PORT", "18765"))
RUNS = int(os.environ.get("LIGHTHOUSE_RUNS", "3"))
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
SECTION = "## Lighthouse (mobile)"


def say(text: str) -> None:
    print(f"[lighthouse] {text}", file=sys.stderr, flush=True)


def install() -> None:
    if LIGHTHOUSE.exists():
        return
    say("installing Lighthouse into bench/lighthouse/node_modules (npm ci)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)


def wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=120) as answer:
        return answer.read().decode()


class DemoShop:
    """`make run` in a temporary folder: SQLite, media, DEBUG on, runserver on PORT."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="shop-lighthouse-"))
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "DJANGO_DEBUG": "1",
            "SQLITE_PATH": str(self.folder / "db.sqlite3"),
            "MEDIA_ROOT": str(self.folder / "media"),
        }
        self.server = None
        self.url = f"http://127.0.0.1:{PORT}"

    def manage(self, *args: str) -> None:
        subprocess.run(
            [str(PYTHON), "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def __enter__(self):
        say(f"building the demo shop in {self.folder}")
        self.manage("migrate", "--no-input")
        self.manage("load_demo", "--no-progress")
        self.manage("load_demo_interactions", "--train")
        self.server = subprocess.Popen(
            [str(PYTHON), "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(self.url + "/health/")
        return self

    def __exit__(self, *exc):
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


def pages(base: str) -> dict[str, str]:
    """The home page, the product list, and the page of the list's first product."""
    listing = fetch(base + "/products/")
    match = re.search(r'<a class="card-link" href="(/products/[^"]+/)"', listing)
    if not match:
        raise SystemExit("the product list shows no product: load the demo first")
    return {"home": base + "/", "list": base + "/products/", "detail": base + match.group(1)}


def warm(urls: dict[str, str]) -> None:
    """Open each page and every picture it names once before measuring, as a visit before would
    have (and fail here, not in a Lighthouse run, on a rendition that was not made)."""
    for url in urls.values():
        html = fetch(url)
        base = url.split("/", 3)[:3]
        for path in set(re.findall(r'(/media/[^" ,\\]+)', html)):
            with urllib.request.urlopen("/".join(base) + path, timeout=120) as answer:
                answer.read()


def lighthouse(name: str, url: str, run: int) -> dict:
    REPORTS.mkdir(parents=True, exist_ok=True)
    output = REPORTS / f"{name}-{run}.json"
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={output}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        "--max-wait-for-load=90000",
    ]
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    for attempt in (1, 2, 3):
        # A busy machine can make chromium miss Lighthouse's launch timeout: try again.
        if subprocess.run(command, env=env).returncode == 0:
            return json.loads(output.read_text())
        say(f"{name}: Lighthouse failed (attempt {attempt} of 3)")
    raise SystemExit(f"Lighthouse failed three times on {url}")


def summary(report: dict) -> dict:
    audits = report["audits"]
    console = audits.get("errors-in-console", {}).get("details", {}).get("items", [])
    return {
        **{c: report["categories"][c]["score"] for c in CATEGORIES},
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "console_errors": [item.get("description") or item.get("source") for item in console],
        "failed": sorted(
            audit_id
            for c in ("accessibility", "seo", "best-practices")
            for ref in report["categories"][c]["auditRefs"]
            if ref["weight"] > 0
            and (audit_id := ref["id"])
            and audits[audit_id]["score"] is not None
            and audits[audit_id]["score"] < 1
        ),
        "version": report["lighthouseVersion"],
        "chrome": report["environment"]["hostUserAgent"],
    }


def measure(urls: dict[str, str]) -> dict[str, dict]:
    results = {}
    for name, url in urls.items():
        runs = []
        for run in range(1, RUNS + 1):
            say(f"{name}: run {run} of {RUNS} ({url})")
            runs.append(summary(lighthouse(name, url, run)))
        median = statistics.median_low([r["performance"] for r in runs])
        chosen = next(r for r in runs if r["performance"] == median)
        chosen["performance_runs"] = [r["performance"] for r in runs]
        results[name] = chosen
    return results


def markdown(results: dict[str, dict], load: str) -> str:
    first = next(iter(results.values()))
    chrome = re.search(r"(?:HeadlessChrome|Chrome)/([0-9.]+)", first["chrome"])
    lines = [
        SECTION,
        "",
        f"`bench/lighthouse.py` ({time.strftime('%Y-%m-%d', time.gmtime())}): Lighthouse "
        f"{first['version']} from npm, Debian's chromium {chrome.group(1) if chrome else ''} "
        "headless, the default mobile settings (a Moto G Power screen, simulated slow 4G and "
        "4x CPU slowdown), against the demo shop as `make run` builds it (400 products with "
        f"pictures, runserver, DEBUG on). Median of {RUNS} runs per page by performance score; "
        f"machine load average {load} during the runs (2 cores shared).",
        "",
        "| page | performance | accessibility | best practices | SEO | CLS | LCP | TBT | "
        "console errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        runs = ", ".join(f"{p:.2f}" for p in r["performance_runs"])
        lines.append(
            f"| {name} | {r['performance']:.2f} ({runs}) | {r['accessibility']:.2f} | "
            f"{r['best-practices']:.2f} | {r['seo']:.2f} | {r['cls']:.3f} | "
            f"{r['lcp_ms'] / 1000:.1f} s | {r['tbt_ms']:.0f} ms | {len(r['console_errors'])} |"
        )
    goals = [
        ("cumulative layout shift < 0.1", lambda r: r["cls"] < 0.1),
        ("performance >= 0.95", lambda r: r["performance"] >= 0.95),
        ("accessibility 1.0", lambda r: r["accessibility"] == 1),
        ("SEO 1.0", lambda r: r["seo"] == 1),
        ("no console errors", lambda r: not r["console_errors"]),
    ]
    verdicts = []
    for goal, met in goals:
        missed = [name for name, r in results.items() if not met(r)]
        verdicts.append(f"{goal}: " + (f"**not met** on {', '.join(missed)}" if missed else "met"))
    lines += ["", "Goals: " + "; ".join(verdicts) + "."]
    failed = {name: r["failed"] for name, r in results.items() if r["failed"]}
    if failed:
        lines += [
            "",
            "Audits not passed: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in failed.items()),
        ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace the section in BENCHMARKS.md, or add it at the end, among the sections
    ``make bench`` keeps (below its marker line)."""
    document = BENCHMARKS.read_text()
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |^<!-- |\Z)", re.S | re.M)
    if pattern.search(document):
        document = pattern.sub(lambda _: text + "\n", document)
    else:
        document = document.rstrip("\n") + "\n\n" + text
    BENCHMARKS.write_text(document)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a shop already running (default: build a demo shop)")
    parser.add_argument("--write", action="store_true", help="keep the scores in BENCHMARKS.md")
    args = parser.parse_args()
    install()
    if args.url:
        urls = pages(args.url.rstrip("/"))
        warm(urls)
        results = measure(urls)
    else:
        with DemoShop() as shop:
            urls = pages(shop.url)
            warm(urls)
            results = measure(urls)
    load = f"{os.getloadavg()[0]:.1f}"
    text = markdown(results, load)
    print(text)
    for name, r in results.items():
        for message in r["console_errors"]:
            print(f"console error on {name}: {message}")
    if args.write:
        write_section(text)
        say(f"wrote the section to {BENCHMARKS.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
