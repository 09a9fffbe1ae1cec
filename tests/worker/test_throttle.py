from skiff.worker.throttle import Throttle


async def test_at_most_limit_per_interval_with_an_injected_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    throttle = Throttle(3, 0.1, clock=lambda: now[0], sleep=sleep)
    for _ in range(7):
        await throttle.acquire()
    assert slept == [0.1, 0.1]  # 3 at t=0, 3 at t=0.1, 1 at t=0.2
    assert now[0] == 0.2


async def test_no_limit() -> None:
    throttle = Throttle(0, 0.1, clock=lambda: 0.0)
    for _ in range(1000):
        await throttle.acquire()
