"""The submit path under wrk (a C load generator, Debian package ``wrk``) for bench_answer_load.

Python load generators spend more CPU per request than the server they measure on a 2-core
machine; wrk spends a few microseconds, so the cores go to the server and the database. Each
request is the final POST of one response the bench started beforehand, used exactly once.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

SCRIPT = Path(__file__).with_name("submit.lua")
CSRF_SECRET = "BenchCsrfSecret0123456789abcdefX"  # 32 characters: Django's unmasked secret
LOW_SCORE_SHARE = 0.1


def available() -> bool:
    return shutil.which("wrk") is not None


def prepare_submits(survey, links: list[tuple[int, str]], seed: int = 3) -> list[str]:
    """Starts one response per invitation (the respondent pressed Start) and returns the request
    lines "path<TAB>body" of the final submit each would post."""
    from django.db import transaction

    from cxloop.surveys import responses
    from cxloop.surveys.models import Invitation

    rng = random.Random(seed)
    invitations = Invitation.objects.in_bulk([pk for pk, _ in links])
    lines = []
    with transaction.atomic():
        for pk, path in links:
            responses.start_or_resume(
                survey=survey, version=survey.current_version, invitation=invitations[pk],
                language="zh-hans", channel=Invitation.Channel.SMS,
            )  # fmt: skip
            lines.append(f"{path}answer/\t{urlencode(_answers(rng))}")
    return lines


def _answers(rng: random.Random) -> dict[str, str]:
    low = rng.random() < LOW_SCORE_SHARE  # a low score shows the logistics follow-up question
    form = {
        "csrfmiddlewaretoken": CSRF_SECRET,
        "page": "0",
        "shown": "csat,logistics,comment" if low else "csat,comment",
        "action": "next",
        "q-csat": str(rng.randint(1, 2) if low else rng.randint(3, 5)),
        "q-comment": rng.choice(["", "送得很快", "包装很好，谢谢"]),
    }
    if low:
        form["q-logistics"] = "配送速度"
    return form


def run(base_url: str, lines_file: Path, *, seconds: float, connections: int) -> dict:
    threads = 2
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
        "-s", str(SCRIPT), base_url, "--", str(lines_file), str(threads), CSRF_SECRET,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = result.pop("duration_us") / 1e6
    return result


def confirmed_ids(result: dict, links: list[tuple[int, str]]) -> list[int]:
    """The invitation ids whose submit wrk saw redirected to the thank-you page."""
    by_path = {path: pk for pk, path in links}
    from urllib.parse import urlparse

    ids = []
    for location in result["confirmed"]:
        path = urlparse(location).path.removesuffix("thanks/")
        if path not in by_path:
            print(f"unexpected redirect {location}", file=sys.stderr)
            continue
        ids.append(by_path[path])
    return ids
