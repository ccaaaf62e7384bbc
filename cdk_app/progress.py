"""Progress lines on stderr, so long work shows it is alive while stdout stays parseable."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def step(label: str) -> Iterator[None]:
    """Announce a step, then report how long it took, or that it failed."""
    say(f"... {label}")
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        say(f"FAILED {label} after {time.perf_counter() - started:.1f} s")
        raise
    say(f"done {label} in {time.perf_counter() - started:.1f} s")


class Counter:
    """An in-place 'n/total' counter on a terminal; a line every tenth of the way otherwise."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.interactive = sys.stderr.isatty()
        self._next_tenth = 1

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.interactive:
            print(f"\r{self.label} {self.done}/{self.total}", end="", file=sys.stderr, flush=True)
            if self.done >= self.total:
                print(file=sys.stderr)
        elif self.done * 10 >= self._next_tenth * self.total:
            self._next_tenth = self.done * 10 // self.total + 1
            say(f"{self.label} {self.done}/{self.total}")
