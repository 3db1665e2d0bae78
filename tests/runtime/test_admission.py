"""The pixel budget: reservations, waiting in line, refusal, and release on every path."""

from __future__ import annotations

import asyncio

import pytest

from ai.runtime.admission import PixelAdmission
from ai.runtime.context import RequestInfo, reset_request, set_request
from ai.runtime.errors import ErrorCode, ServiceError


async def hold(admission: PixelAdmission, pixels: int, until: asyncio.Event, log: list[str], name: str) -> None:
    """A request that reserves ``pixels`` and ends when ``until`` is set."""
    info = RequestInfo(request_id=name)
    token = set_request(info)
    try:
        await admission.admit(pixels)
        log.append(name)
        await until.wait()
    finally:
        for finish in info.on_finish:
            finish()
        reset_request(token)


async def test_requests_wait_in_line_and_nobody_overtakes_the_head() -> None:
    admission = PixelAdmission(100, wait_s=5, retry_after_s=1)
    log: list[str] = []
    first_done, rest_done = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(hold(admission, 80, first_done, log, "big-1"))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(hold(admission, 80, rest_done, log, "big-2"))
    await asyncio.sleep(0.01)
    small = asyncio.create_task(hold(admission, 10, rest_done, log, "small"))
    await asyncio.sleep(0.01)
    assert log == ["big-1"], "the small one fits, but waits behind big-2"
    first_done.set()
    await asyncio.sleep(0.01)
    assert log == ["big-1", "big-2", "small"]
    assert admission.in_flight == 90
    rest_done.set()
    await asyncio.gather(first, second, small)
    assert admission.in_flight == 0


async def test_a_request_that_cannot_fit_in_time_gets_resource_exhausted() -> None:
    admission = PixelAdmission(100, wait_s=0.05, retry_after_s=2)
    done = asyncio.Event()
    holder = asyncio.create_task(hold(admission, 100, done, [], "holder"))
    await asyncio.sleep(0.01)
    with pytest.raises(ServiceError) as refused:
        await hold(admission, 1, done, [], "late")
    assert refused.value.code is ErrorCode.RESOURCE_EXHAUSTED and refused.value.headers() == {"Retry-After": "2"}
    done.set()
    await holder
    assert admission.in_flight == 0 and not admission._waiters


async def test_an_image_larger_than_the_budget_runs_alone() -> None:
    admission = PixelAdmission(100, wait_s=1, retry_after_s=1)
    done = asyncio.Event()
    log: list[str] = []
    task = asyncio.create_task(hold(admission, 10_000, done, log, "huge"))
    await asyncio.sleep(0.01)
    assert log == ["huge"] and admission.in_flight == 100
    done.set()
    await task


async def test_a_client_that_leaves_while_waiting_gives_its_place_back() -> None:
    admission = PixelAdmission(100, wait_s=5, retry_after_s=1)
    done = asyncio.Event()
    holder = asyncio.create_task(hold(admission, 100, done, [], "holder"))
    await asyncio.sleep(0.01)
    leaver = asyncio.create_task(hold(admission, 50, done, [], "leaver"))
    await asyncio.sleep(0.01)
    leaver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaver
    done.set()
    await holder
    assert admission.in_flight == 0 and not admission._waiters
