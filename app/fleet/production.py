"""A production job's `[server]`: each board flashed is registered with its attributes, and
its result closes the action the server has for it (if any), as `BatchRunner`'s reporter.

The token comes from the environment variable the job names, never from the job file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from app.client.client import SmpClient
from app.fleet.attributes import device_attributes, read_facts
from app.fleet.ddi import (
    Execution,
    Finished,
    FleetError,
    config_data_body,
    feedback_body,
    parse_poll,
)
from app.fleet.feedback import FeedbackQueue
from app.fleet.identity import DEFAULT_TEMPLATE, controller_id, setting_names
from app.fleet.server import AuthKind, DdiHttp, ServerProfile, ServerUnreachable
from app.workflows.job import Job, JobError
from app.workflows.results import ResultRow
from app.workflows.update import read_device_state

log = logging.getLogger(__name__)


class JobReporter:
    """`await reporter(client, row)` after every attempt; `close()` at the end of the run."""

    def __init__(self, job: Job, state_dir: Path) -> None:
        server = job.server
        if server is None:
            raise JobError("the job names no [server]")
        token = os.environ.get(server.token_env) if server.token_env else None
        if server.auth != "none" and not token:
            raise JobError(
                f"the job's server needs a token in ${server.token_env}, which is not set"
            )
        try:
            self.profile = ServerProfile(server.url, server.tenant, AuthKind(server.auth), token)
        except FleetError as exc:
            raise JobError(f"the job's [server]: {exc}") from exc
        self.job = job
        self.template = server.controller_id or DEFAULT_TEMPLATE
        self.state_dir = state_dir
        self.http = DdiHttp(self.profile)

    async def close(self) -> None:
        await self.http.close()

    async def __call__(self, client: SmpClient | None, row: ResultRow) -> None:
        if client is None:
            log.warning("%s: not connected, so not registered with the server", row.device)
            return
        facts = await read_facts(client, row.device, setting_names(self.template))
        cid = controller_id(self.template, facts)
        base = self.profile.controller_url(cid)
        try:
            poll = parse_poll(await self.http.get_json(base))
            state = await read_device_state(client)
            await self.http.put_json(
                base + "/configData", config_data_body(device_attributes(facts, state))
            )
        except ServerUnreachable as exc:
            log.warning("%s: the job's server is unreachable: %s", cid, exc)
            return
        if poll.deployment_href is None:
            return  # registered; the server has no action to close for this board
        passed = row.result == "pass"
        line = (
            f"flashed by job {self.job.name!r}{_at(row)}: {row.previous_version or '?'} -> "
            f"{row.new_version}"
            if passed
            else f"failed in job {self.job.name!r}{_at(row)}: {row.failure_reason}"
        )
        queue = FeedbackQueue(self.state_dir / "feedback", cid)
        queue.put(
            poll.deployment_href.split("?", 1)[0] + "/feedback",
            feedback_body(
                Execution.CLOSED, Finished.SUCCESS if passed else Finished.FAILURE, [line]
            ),
        )
        await queue.flush(self.http)


def _at(row: ResultRow) -> str:
    return f" at {row.station}" if row.station else ""
