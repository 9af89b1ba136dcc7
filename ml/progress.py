"""tqdm progress bars for management commands, one per pipeline stage."""

from collections.abc import Callable
from contextlib import AbstractContextManager

from tqdm import tqdm


class CommandProgress(AbstractContextManager):
    """A ProgressFactory: progress("stage", total) opens a bar and returns its advance(n) function."""

    def __init__(self, stream, *, enabled: bool):
        self.stream = stream
        self.enabled = enabled
        self.bars: list[tqdm] = []

    def __call__(self, stage: str, total: int) -> Callable[[int], None]:
        if self.bars:
            self.bars[-1].close()
        bar = tqdm(total=total, desc=stage, unit="it", file=self.stream, disable=not self.enabled, leave=True)
        self.bars.append(bar)
        return bar.update

    def close(self) -> None:
        """Close the open bars (a stage ended); the next call opens a new one."""
        for bar in self.bars:
            bar.close()
        self.bars.clear()

    def __exit__(self, *exc) -> None:
        self.close()
