"""Password hashing is memory-hard (argon2id, ~19 MiB each): no more run at once than cores."""

from __future__ import annotations

import threading
import time
from unittest import mock

from openevent import security


def test_concurrent_hashing_is_limited_to_the_cores():
    cores = security._hash_slots()._initial_value  # type: ignore[attr-defined]
    running = 0
    peak = 0
    lock = threading.Lock()

    class Recorder:
        def _enter(self) -> str:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)  # long enough for every thread to pile up without the limit
            with lock:
                running -= 1
            return "hash"

        def hash(self, password: str) -> str:
            return self._enter()

        def verify(self, stored: str, password: str) -> bool:
            return bool(self._enter())

    with mock.patch("openevent.security._hasher", Recorder):
        threads = [threading.Thread(target=security.hash_password, args=("pw",)) for _ in
                   range(cores + 6)]
        threads += [threading.Thread(target=security.verify_password, args=("h", "pw"))
                    for _ in range(cores + 6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert 1 <= peak <= cores
