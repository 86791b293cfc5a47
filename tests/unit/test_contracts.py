"""The names every side of a contract spells: a new transition, refusal or activity fails here until the
workflow, the worker and the API all know it."""

from __future__ import annotations

import inspect
import typing

import httpx
import pytest
from temporalio import activity, workflow

from api.problems import REFUSAL_STATUS, gateway_problem
from db.engine import make_engine, make_session_factory
from domain.refusals import Refusal
from domain.status import Transition
from settings import Settings
from worker import activities
from workflows import contracts
from workflows.dossier import DossierWorkflow
from workflows.gateway import Refused


def test_every_transition_but_the_payment_is_an_update_of_its_own_name() -> None:
    updates = {u.name for u in workflow._Definition.must_from_class(DossierWorkflow).updates.values()}
    assert updates == {t.value for t in contracts.UPDATES} | {
        contracts.REGISTER,
        contracts.RECORD_PAYMENT,
        contracts.RATE,
    }
    assert set(contracts.UPDATES) == set(Transition) - {Transition.PAYMENT_RECEIVED}


def test_the_payment_signal_of_the_first_release_is_still_handled() -> None:
    definition = workflow._Definition.must_from_class(DossierWorkflow)
    assert contracts.PAYMENT_SIGNAL in definition.signals
    assert definition.name == contracts.WORKFLOW


def _signature(function: typing.Callable[..., object]) -> tuple[list[object], object]:
    hints = typing.get_type_hints(function)
    parameters = [hints[name] for name in inspect.signature(function).parameters if name != "self"]
    return parameters, hints["return"]


async def test_the_worker_implements_every_activity_signature_with_the_same_types() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    sessions = make_session_factory(make_engine("sqlite+aiosqlite://"))  # never connected: built only
    async with httpx.AsyncClient() as http:
        registered = {
            activity._Definition.must_from_callable(f).name: f for f in activities(settings, sessions, http)
        }
    declared = {activity._Definition.must_from_callable(f).name: f for f in contracts.SIGNATURES}
    assert set(registered) == set(declared)
    for name, signature in declared.items():
        assert _signature(registered[name]) == _signature(signature), name


@pytest.mark.parametrize("refusal", [r for r in Refusal if r is not Refusal.DUPLICATE_EVENT])
def test_every_refusal_has_its_http_answer(refusal: Refusal) -> None:
    # A repeat is not refused to callers: the gateway answers it as a repeat.
    assert refusal in REFUSAL_STATUS
    problem = gateway_problem(Refused(refusal, "refused"))
    # 404 only for a step the dossier's procedure does not have (a thing that does not exist).
    assert problem.status in ((404,) if refusal is Refusal.UNKNOWN_STEP else (409, 422))
    assert problem.slug
