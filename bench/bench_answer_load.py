"""Benchmark: the answer-page submit path under load, on the real production server (loopback).

    .venv/bin/python bench/bench_answer_load.py [--seconds 20] [--concurrency 32] [--threads 8]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Sets up its own database (a temporary SQLite file, or a ``cxloop_bench_answer`` database that it
creates and drops on the PostgreSQL server of ``--database-url``), migrates it, publishes the
post-delivery CSAT template, creates one customer and one sent, unexpired invitation per virtual
respondent with its signed link, then starts ``cxloop serve`` (waitress, the server users run) as
a separate process and drives it from a load generator in another process (asyncio + httpx,
``--concurrency`` connections, each a virtual respondent after another).

Each respondent does what a browser does: GET the invitation link (intro page; CSRF cookie and
form token), POST Start (→ 302), GET the answer page (reads ``page`` and ``shown``), POST the page
with valid answers (10% give a low score, which reveals a follow-up question: the page comes
back, is answered and posted again), and the final POST that submits (→ 302 to thanks), then GET
the thank-you page. Measured:

* submissions/s: final submits that succeeded inside the ``--seconds`` window, per second;
* p50/p95/p99 latency of the final submit POST alone ("the submit path"), and of a whole flow;
* errors: any unexpected status, timeout or connection error;
* CPU seconds the server process and the load generator used in each phase (the rest of the
  machine's 2 cores went to the database and to whatever else runs on the machine);
* zero lost: afterwards every invitation the client saw submitted must have exactly one
  submitted ``Response`` row and be marked answered; no extra submitted rows may exist.

Baseline in the same run: the same server answering ``/api/v1/health`` (one ``SELECT 1``) at the
same concurrency, so the ratio shows what the submit path costs against the server's floor.

Goal (issue 3): ≥ 200 submissions/s, p99 < 200 ms, zero lost. Caveat: the load generator runs on
the same machine and shares its cores with the server and the database; latencies include the
client's own scheduling delay.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.cookiejar
import json
import os
import random
import re
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import benchdb

BENCH_DB = "cxloop_bench_answer"
ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
LOW_SCORE_SHARE = 0.1  # respondents who score 1–2 and get the follow-up question
FIELD = r'name="{}" value="([^"]*)"'


def main() -> int:
    args = _arguments()
    if args.client:
        return asyncio.run(_client_main(args))
    hosts = "127.0.0.1,localhost"
    with benchdb.django_for_bench(args.database_url, BENCH_DB, CXLOOP_ALLOWED_HOSTS=hosts) as (
        data_dir,
        env,
    ):
        return _run(args, data_dir, env)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="", help="postgres://… (default: SQLite)")
    parser.add_argument("--seconds", type=float, default=20, help="measured window")
    parser.add_argument("--concurrency", type=int, default=32, help="simultaneous respondents")
    parser.add_argument("--threads", type=int, default=8, help="cxloop serve --threads")
    parser.add_argument("--baseline-seconds", type=float, default=10)
    parser.add_argument("--invitations", type=int, default=0, help="default: enough for 500/s")
    # Internal: the load generator runs this same file in a process of its own.
    parser.add_argument("--client", choices=["flow", "health"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--links", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- database and fixtures (the parent process) ----------------------------------------------


def _create_fixtures(count: int) -> tuple[int, list[tuple[int, str]]]:
    """A published CSAT survey and ``count`` sent invitations: (survey id, [(id, link path)])."""
    from django.utils import timezone

    from cxloop.customers.models import Customer
    from cxloop.surveys import services, tokens
    from cxloop.surveys.models import Invitation

    survey = services.create_from_template(template_key="post_delivery_csat", actor=None)
    services.publish_survey(survey=survey, actor=None)
    Customer.objects.bulk_create(
        Customer(external_id=f"B{i:07d}", name=f"客户{i}", region="华东", consent_survey=True)
        for i in range(count)
    )
    now = timezone.now()
    Invitation.objects.bulk_create(
        (
            Invitation(survey=survey, customer=customer, nonce=f"bench{customer.pk:010d}",
                       channel=Invitation.Channel.SMS, status=Invitation.Status.SENT,
                       sent_at=now, expires_at=now + dt.timedelta(days=7))
            for customer in Customer.objects.order_by("pk").iterator()
        ),
        batch_size=2000,
    )  # fmt: skip
    links = [
        (invitation.pk, urlparse(tokens.invitation_url(invitation)).path)
        for invitation in Invitation.objects.filter(survey=survey).order_by("pk")
    ]
    return survey.pk, links


def _verify(survey_id: int, submitted_ids: list[int]) -> dict:
    """Every submission the client saw succeed is one submitted Response; nothing extra."""
    from django.db.models import Count

    from cxloop.surveys.models import Invitation, Response

    rows = Response.objects.filter(survey_id=survey_id, submitted_at__isnull=False)
    in_db = set(rows.values_list("invitation_id", flat=True))
    duplicated = (
        rows.values("invitation_id").annotate(n=Count("id")).filter(n__gt=1).count()
    )  # the OneToOne column forbids it; checked anyway
    answered = Invitation.objects.filter(
        pk__in=submitted_ids, status=Invitation.Status.ANSWERED
    ).count()
    seen = set(submitted_ids)
    return {
        "seen": len(seen),
        "in_db": rows.count(),
        "lost": len(seen - in_db),
        "unconfirmed": len(in_db - seen),  # submitted, but the client gave up before the reply
        "duplicated": duplicated + (len(submitted_ids) - len(seen)),
        "not_marked_answered": len(seen) - answered,
    }


# --- the server ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(env: dict, port: int, threads: int, data_dir: Path) -> subprocess.Popen:
    command = [str(VENV_BIN / "cxloop"), "serve", "--port", str(port), "--threads", str(threads)]
    log = open(data_dir / "server.log", "w")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=log)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"cxloop serve exited; see {data_dir / 'server.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("cxloop serve did not answer within 60 s")


def _run_client(mode: str, args, base_url: str, links_file: Path, seconds: float, server) -> dict:
    """Runs the load generator; adds the CPU seconds it and the server used meanwhile."""
    command = [
        sys.executable, __file__, "--client", mode, "--base-url", base_url,
        "--links", str(links_file), "--seconds", str(seconds),
        "--concurrency", str(args.concurrency),
    ]  # fmt: skip
    client_before, server_before = _children_cpu(), _process_cpu(server.pid)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"load generator failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    result["client_cpu"] = _children_cpu() - client_before
    result["server_cpu"] = _process_cpu(server.pid) - server_before
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid: int) -> float:
    """utime + stime of a running process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(args, data_dir: Path, env: dict) -> int:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    count = args.invitations or int(args.seconds * 500) + 50 * args.concurrency
    survey_id, links = _create_fixtures(count)
    links_file = data_dir / "links.json"
    links_file.write_text(json.dumps(links))
    vendor = connection.vendor
    connection.close()  # the server and the client run alone from here on
    port = _free_port()
    server = _start_server(env, port, args.threads, data_dir)
    try:
        base_url = f"http://127.0.0.1:{port}"
        health = _run_client("health", args, base_url, links_file, args.baseline_seconds, server)
        flow = _run_client("flow", args, base_url, links_file, args.seconds, server)
    finally:
        server.terminate()
        server.wait(timeout=30)
    check = _verify(survey_id, flow["submitted_ids"])
    _report(args, vendor, count, health, flow, check)
    return 0 if check["lost"] == 0 and check["duplicated"] == 0 else 1


def _report(args, vendor: str, count: int, health: dict, flow: dict, check: dict) -> None:
    print(
        f"database: {vendor}; cxloop serve --threads {args.threads}; concurrency "
        f"{args.concurrency}; {os.cpu_count()} CPUs shared by server, database and load generator"
    )
    print(
        f"baseline /api/v1/health: {health['rate']:8,.0f} req/s   "
        f"p50 {health['p50']:6.1f} ms  p99 {health['p99']:6.1f} ms  errors {health['errors']}"
    )
    print(_cpu_line(health))
    print(
        f"answer flow ({args.seconds:g} s): {flow['rate']:6,.1f} submissions/s "
        f"({flow['request_rate']:,.0f} req/s, {flow['requests_per_flow']:.2f} requests per flow)"
    )
    print(
        f"  submit POST: p50 {flow['p50']:6.1f} ms  p95 {flow['p95']:6.1f} ms  "
        f"p99 {flow['p99']:6.1f} ms  max {flow['max']:6.1f} ms"
    )
    print(
        f"  whole flow:  p50 {flow['flow_p50']:6.1f} ms  p99 {flow['flow_p99']:6.1f} ms   "
        f"errors {flow['errors']} {flow['error_kinds']}"
        + ("  (ran out of invitations)" if flow["exhausted"] else "")
    )
    print(_cpu_line(flow))
    print(
        f"ratio health req/s / answer req/s: {health['rate'] / max(flow['request_rate'], 1):.2f}x"
    )
    print(
        f"database check: {check['seen']:,} submissions seen by the client, {check['in_db']:,} "
        f"submitted rows; lost {check['lost']}, duplicated {check['duplicated']}, "
        f"not marked answered {check['not_marked_answered']}, "
        f"submitted but unconfirmed {check['unconfirmed']}"
    )
    ok = flow["rate"] >= 200 and flow["p99"] < 200 and check["lost"] == 0 and not flow["errors"]
    print("goal met (≥ 200/s, p99 < 200 ms, zero lost)" if ok else "goal NOT met")


def _cpu_line(result: dict) -> str:
    server, client = result["server_cpu"], result["client_cpu"]
    return f"  CPU used: server {server:.1f} s, load generator {client:.1f} s"


# --- the load generator (its own process; no Django here) -----------------------------------


class NoCookies(http.cookiejar.DefaultCookiePolicy):
    """The shared client keeps no cookies: each respondent carries its own CSRF cookie."""

    def set_ok(self, cookie, request):
        return False


async def _client_main(args) -> int:
    import httpx

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=None)
    jar = http.cookiejar.CookieJar(policy=NoCookies())
    async with httpx.AsyncClient(
        base_url=args.base_url, limits=limits, timeout=30, cookies=jar
    ) as client:
        if args.client == "health":
            result = await _health_load(client, args)
        else:
            result = await _flow_load(client, args)
    json.dump(result, sys.stdout)
    return 0


async def _health_load(client, args) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + args.seconds

    async def worker():
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                reply = await client.get("/api/v1/health")
                ok = reply.status_code == 200
            except Exception as exc:  # noqa: BLE001 - every failure is counted, by kind
                ok, reply = False, type(exc).__name__
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                _count(errors, getattr(reply, "status_code", reply))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    return {"rate": len(latencies) / elapsed, **_percentiles(latencies), "errors": errors}


class Respondent:
    """One browser: its own CSRF cookie, following the flow of one invitation link."""

    def __init__(self, client, path: str, rng: random.Random):
        self.client, self.path, self.rng = client, path, rng
        self.cookies: dict[str, str] = {}
        self.requests = 0

    async def request(self, method: str, url: str, data=None, expect=200):
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = {"Cookie": cookie, "Referer": str(self.client.base_url) + url}
        reply = await self.client.request(method, url, data=data, headers=headers)
        self.requests += 1
        for name, value in reply.cookies.items():
            self.cookies[name] = value
        if expect is not None and reply.status_code != expect:
            raise FlowError(f"{method} {reply.status_code}")
        return reply

    async def answer(self) -> float:
        """Runs the flow; returns the latency of the final submit POST."""
        intro = await self.request("GET", self.path)
        token = _field(intro.text, "csrfmiddlewaretoken")
        start = await self.request("POST", self.path, {"csrfmiddlewaretoken": token}, expect=302)
        answer_url = start.headers["location"]
        page = await self.request("GET", answer_url)
        score = self.rng.randint(1, 2) if self.rng.random() < LOW_SCORE_SHARE else 0
        score = score or self.rng.randint(3, 5)
        while True:
            form = {
                "csrfmiddlewaretoken": _field(page.text, "csrfmiddlewaretoken"),
                "page": _field(page.text, "page"),
                "shown": _field(page.text, "shown"),
                "action": "next",
                "q-csat": str(score),
                "q-comment": self.rng.choice(["", "送得很快", "包装很好，谢谢"]),
            }
            if "logistics" in form["shown"].split(","):
                form["q-logistics"] = "配送速度"
            started = time.perf_counter()
            reply = await self.client_post(answer_url, form)
            if reply.status_code == 302:
                latency = time.perf_counter() - started
                break
            page = reply  # the follow-up question appeared: answer it and post again
        if not reply.headers["location"].endswith("/thanks/"):
            raise FlowError("submit redirected elsewhere")
        await self.request("GET", reply.headers["location"])
        return latency

    async def client_post(self, url: str, form: dict):
        reply = await self.request("POST", url, form, expect=None)
        if reply.status_code not in (200, 302):
            raise FlowError(f"POST {reply.status_code}")
        return reply


class FlowError(Exception):
    pass


async def _flow_load(client, args) -> dict:
    links = json.loads(Path(args.links).read_text())
    links.reverse()  # pop() from the end hands out the links in order
    stats = {"submit": [], "flow": [], "ids": [], "requests": 0, "errors": {}, "in_window": 0}
    warmup = [links.pop() for _ in range(min(len(links), 2 * args.concurrency))]
    await _drive(client, warmup, stats, args.concurrency, deadline=None, seed=1)
    for key in ("submit", "flow"):
        stats[key].clear()
    stats["requests"], stats["in_window"] = 0, 0
    started = time.perf_counter()
    deadline = started + args.seconds
    await _drive(client, links, stats, args.concurrency, deadline=deadline, seed=2)
    return {
        "rate": stats["in_window"] / args.seconds,
        "request_rate": stats["requests"] / (time.perf_counter() - started),
        "requests_per_flow": stats["requests"] / max(len(stats["flow"]), 1),
        **_percentiles(stats["submit"]),
        **{f"flow_{k}": v for k, v in _percentiles(stats["flow"]).items()},
        "errors": sum(stats["errors"].values()),
        "error_kinds": stats["errors"],
        "exhausted": not links,
        "submitted_ids": stats["ids"],
    }


async def _drive(client, links: list, stats: dict, concurrency: int, *, deadline, seed) -> None:
    rng = random.Random(seed)

    async def worker():
        while links and (deadline is None or time.perf_counter() < deadline):
            invitation_id, path = links.pop()
            respondent = Respondent(client, path, rng)
            started = time.perf_counter()
            try:
                latency = await respondent.answer()
            except Exception as exc:  # noqa: BLE001 - every failure is counted, by kind
                _count(stats["errors"], str(exc) if isinstance(exc, FlowError) else repr(exc))
                stats["requests"] += respondent.requests
                continue
            stats["ids"].append(invitation_id)
            stats["submit"].append(latency)
            stats["flow"].append(time.perf_counter() - started)
            stats["requests"] += respondent.requests
            if deadline is None or time.perf_counter() <= deadline:
                stats["in_window"] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _field(html: str, name: str) -> str:
    match = re.search(FIELD.format(name), html)
    if match is None:
        raise FlowError(f"no {name} in the form")
    return match.group(1)


def _count(counter: dict, key) -> None:
    counter[str(key)] = counter.get(str(key), 0) + 1


def _percentiles(seconds: list[float]) -> dict:
    if not seconds:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(seconds)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1] * 1000}


if __name__ == "__main__":
    raise SystemExit(main())
