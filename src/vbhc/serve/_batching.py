"""Opportunistic micro-batching: requests waiting together share one model call.

A model call costs about the same for 1 row as for 50 (pandas and scikit-learn
overhead dominate), so under load the service scores every request that arrived while
the previous batch ran in one call.  There is no timer: a lone request runs at once,
so batching adds no latency when the service is quiet.  Model calls run in one worker
thread, keeping the event loop free to accept and answer requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """Run ``fn(items) -> results`` (same length, same order) over batches of waiting items.

    Use :meth:`start` and :meth:`stop` from the application's lifespan; before
    :meth:`start` (or after :meth:`stop`) :meth:`submit` scores each item on its own.
    """

    def __init__(self, fn: Callable[[Sequence[T]], Sequence[R]], *, max_batch: int = 64) -> None:
        self._fn = fn
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vbhc-predict")
        self._task = asyncio.create_task(self._run(), name="vbhc-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._queue = self._task = self._executor = None

    async def submit(self, item: T) -> R:
        """The result for ``item``; raises what ``fn`` raised for it."""
        if self._queue is None:
            return (await run_in_threadpool(self._fn, [item]))[0]
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            live = [(item, fut) for item, fut in batch if not fut.done()]  # skip requests whose client left
            if not live:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._fn, [item for item, _ in live])
            except Exception:
                # One bad item must not fail its neighbours: score them one by one.
                for item, fut in live:
                    try:
                        result = (await loop.run_in_executor(self._executor, self._fn, [item]))[0]
                    except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                        _settle(fut, exc=exc)
                    else:
                        _settle(fut, result=result)
                continue
            for (_, fut), result in zip(live, results, strict=True):
                _settle(fut, result=result)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()


def _settle(fut: asyncio.Future, *, result: object = None, exc: BaseException | None = None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)
