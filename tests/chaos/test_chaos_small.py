"""The chaos suite's small configuration (bench/chaos.py): real processes really killed, outcomes checked.

One stack for the module: a Temporal dev server, the fake Zalo, the worker, the API and (when the machine
has PostgreSQL's binaries) a private PostgreSQL. Every scenario drives a few dossiers through their lives
while one fault is injected once; afterwards each dossier must have reached its end with every event and
notice once and no answer was a 500 or a refused retry. `make chaos` runs the larger configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import chaos

pytestmark = pytest.mark.chaos

SMALL = chaos.Config(lifecycles=2, kills=1, concurrency=2, window_kills=1, settle=240.0, seed=15)
# The duplicate-window scenarios are measurements (many kills each), run by `make chaos`.
SCENARIOS = [name for name in chaos.SCENARIOS if not name.startswith("duplicate-window")]


@pytest.fixture(scope="module")
async def outcome(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    lines: list[dict[str, Any]] = []
    config = chaos.Config(**{**SMALL.__dict__, "scenarios": SCENARIOS})
    summary = await chaos.run(config, Path(tmp_path_factory.mktemp("chaos")), emit=lines.append)
    for line in lines:
        print(line)
    return {"summary": summary, "lines": {line["scenario"]: line for line in lines if "scenario" in line}}


def test_every_fault_was_injected_and_every_dossier_checked(outcome: dict[str, Any]) -> None:
    lines = outcome["lines"]
    assert set(lines) == set(SCENARIOS)
    for name, line in lines.items():
        if line.get("skipped"):
            assert name == "postgres-restart", line
            continue
        assert line["lifecycles"] >= SMALL.lifecycles, line
        assert line["kills"] == (0 if name == "baseline" else 1), line
        assert line["events_checked"] >= 5 * line["lifecycles"], line
        assert line["notices_checked"] >= 4 * line["lifecycles"], line
        assert line["zalo_faults_unused"] == 0, line
    if chaos.Stack.postgres_available():
        assert outcome["summary"]["database"] == "postgresql"
        assert not lines["postgres-restart"].get("skipped")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_loss_no_duplicate_no_refused_retry_no_500(outcome: dict[str, Any], scenario: str) -> None:
    line = outcome["lines"][scenario]
    assert line["ok"], line


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_client_is_never_refused_and_no_process_dies_by_itself(
    outcome: dict[str, Any], scenario: str
) -> None:
    line = outcome["lines"][scenario]
    if line.get("skipped"):
        return
    assert (line["refused_retries"], line["refused"], line["given_up"]) == (0, 0, 0), line
    assert line["unexpected_exits"] == {}, line
    assert line["http_500"] == 0, line
