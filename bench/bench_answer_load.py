"""Benchmark: the answer-page submit path under load, on the real production server (loopback).

    .venv/bin/python bench/bench_answer_load.py [--seconds 20] [--concurrency 16] [--threads 8]
        [--processes 2] [--load wrk|python] [--database-url postgres://postgres@127.0.0.1:5432/x]

Sets up its own database (a temporary SQLite file, or a ``cxloop_bench_answer`` database that it
creates and drops on the PostgreSQL server of ``--database-url``), migrates it, publishes the
post-delivery CSAT template, creates one customer and one sent, unexpired invitation per virtual
respondent with its signed link, then starts ``cxloop serve`` (gunicorn, the server users run) as
a separate process and drives it from a load generator in another process.

``--load wrk`` (the default when Debian's ``wrk`` is installed: ``apt-get install wrk``): the
bench first starts one response per invitation (the respondent pressed Start), then wrk posts
each response's final page exactly once (``bench/submit.lua``; 10% give a low score with the
logistics follow-up answered), over ``--concurrency`` keep-alive connections. wrk costs a few
microseconds per request, so the two cores go to the server and the database.

``--load python``: whole respondent flows from an asyncio + httpx client, as a browser does them
(intro, Start, page, a follow-up page for low scores, submit, thank-you page). The client itself
uses about as much CPU as the server here, so read it for the flow's latency, not the capacity.

Measured: submissions/s (final submits answered with the redirect to the thank-you page inside
the window), p50/p95/p99 of the submit POST, errors (any other status, timeouts, socket errors),
CPU seconds of the server (all its processes) and of the load generator, and zero lost: every
submission the client saw confirmed must be one submitted ``Response`` row, marked answered.
"Submitted but unconfirmed" are requests in flight when the window closed: stored, never seen.

Baseline in the same run: the same server answering ``/api/v1/health`` (one ``SELECT 1``) at the
same concurrency, so the ratio shows what the submit path costs against the server's floor.

Goal (issue 3): ≥ 200 submissions/s, p99 < 200 ms, zero lost, on PostgreSQL. The load is a
closed loop: latency ≈ connections ÷ throughput, so 16 connections (at 200/s and ~50 ms per
submit Little's law gives 10 in flight) leave room for the p99; 32 make it ≈ 150 ms on average.
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
import wrkload

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
    parser.add_argument(
        "--concurrency", type=int, default=16, help="connections / simultaneous respondents"
    )
    parser.add_argument("--processes", type=int, default=2, help="cxloop serve --processes")
    parser.add_argument("--threads", type=int, default=8, help="cxloop serve --threads")
    parser.add_argument(
        "--load",
        choices=["wrk", "python"],
        default="wrk" if wrkload.available() else "python",
        help="wrk: the final submit POSTs of pre-started responses (default when wrk is "
        "installed); python: whole respondent flows from an asyncio client",
    )
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


def _start_server(env: dict, port: int, args, data_dir: Path) -> subprocess.Popen:
    command = [
        str(VENV_BIN / "cxloop"), "serve", "--port", str(port), "--threads", str(args.threads),
        "--processes", str(args.processes),
    ]  # fmt: skip
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
    client_before, server_before = _children_cpu(), _process_cpu_tree(server.pid)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"load generator failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    result["client_cpu"] = _children_cpu() - client_before
    result["server_cpu"] = _process_cpu_tree(server.pid) - server_before
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_cpu_tree(pid: int) -> float:
    """utime + stime of a running process and its live children (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        total += _process_cpu_tree(int(child))
    return total


def _server_label(args) -> str:
    return f"--processes {args.processes} --threads {args.threads}"


def _run(args, data_dir: Path, env: dict) -> int:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    count = args.invitations or int(args.seconds * 500) + 50 * args.concurrency
    survey_id, links = _create_fixtures(count)
    links_file = data_dir / "links.json"
    links_file.write_text(json.dumps(links))
    use_wrk = args.load == "wrk"
    if use_wrk:
        from cxloop.surveys.models import Survey

        submits_file = data_dir / "submits.tsv"
        lines = wrkload.prepare_submits(Survey.objects.get(pk=survey_id), links)
        submits_file.write_text("\n".join(lines) + "\n")
        (data_dir / "empty.tsv").write_text("")
    vendor = connection.vendor
    connection.close()  # the server and the load generator run alone from here on
    port = _free_port()
    server = _start_server(env, port, args, data_dir)
    try:
        base_url = f"http://127.0.0.1:{port}"
        if use_wrk:
            health = _run_wrk(args, base_url, data_dir / "empty.tsv", args.baseline_seconds, server)
            flow = _run_wrk(args, base_url, submits_file, args.seconds, server)
            flow["submitted_ids"] = wrkload.confirmed_ids(flow, links)
        else:
            health = _run_client(
                "health", args, base_url, links_file, args.baseline_seconds, server
            )
            flow = _run_client("flow", args, base_url, links_file, args.seconds, server)
    finally:
        server.terminate()
        server.wait(timeout=30)
    check = _verify(survey_id, flow["submitted_ids"])
    (_report_wrk if use_wrk else _report)(args, vendor, count, health, flow, check)
    return 0 if check["lost"] == 0 and check["duplicated"] == 0 else 1


def _run_wrk(args, base_url: str, lines_file: Path, seconds: float, server) -> dict:
    client_before, server_before = _children_cpu(), _process_cpu_tree(server.pid)
    result = wrkload.run(base_url, lines_file, seconds=seconds, connections=args.concurrency)
    result["client_cpu"] = _children_cpu() - client_before
    result["server_cpu"] = _process_cpu_tree(server.pid) - server_before
    statuses = result["statuses"]
    good = statuses.get("302", 0) if lines_file.stat().st_size else statuses.get("200", 0)
    result["rate"] = good / result["seconds"]
    result["errors"] = result["requests"] - good + result["socket_errors"]
    return result


def _report_wrk(args, vendor: str, count: int, health: dict, flow: dict, check: dict) -> None:
    print(
        f"database: {vendor}; cxloop serve {_server_label(args)}; wrk, {args.concurrency} "
        f"connections; {os.cpu_count()} CPUs shared by server, database and load generator"
    )
    for label, result in (("baseline /api/v1/health", health), ("final submit POST", flow)):
        print(
            f"{label:24}: {result['rate']:8,.0f} /s   p50 {result['p50']:6.1f} ms  "
            f"p95 {result['p95']:6.1f} ms  p99 {result['p99']:6.1f} ms  max {result['max']:6.1f} ms"
            f"  errors {result['errors']} {result['statuses']}"
        )
        print(_cpu_line(result))
    if flow["exhausted"]:
        print(f"  ran out of prepared responses: {flow['exhausted']} extra requests")
    print(f"ratio health /s : submits /s = {health['rate'] / max(flow['rate'], 1):.2f}x")
    _report_check(check)
    ok = flow["rate"] >= 200 and flow["p99"] < 200 and check["lost"] == 0 and not flow["errors"]
    print("goal met (≥ 200/s, p99 < 200 ms, zero lost)" if ok else "goal NOT met")


def _report_check(check: dict) -> None:
    print(
        f"database check: {check['seen']:,} submissions seen by the client, {check['in_db']:,} "
        f"submitted rows; lost {check['lost']}, duplicated {check['duplicated']}, "
        f"not marked answered {check['not_marked_answered']}, "
        f"submitted but unconfirmed {check['unconfirmed']}"
    )


def _report(args, vendor: str, count: int, health: dict, flow: dict, check: dict) -> None:
    print(
        f"database: {vendor}; cxloop serve {_server_label(args)}; concurrency "
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
    _report_check(check)
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
