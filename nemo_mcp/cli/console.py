"""Where the demo talks (stdout) and how it shows each step's progress; how a step fails."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

LABEL_WIDTH = 26


class DemoError(Exception):
    """A step of the demo failed; ``str()`` says which and why.

    ``server_trouble`` marks failures of the server itself (not of an edit), whose log helps.
    """

    def __init__(self, message: str, *, server_trouble: bool = False) -> None:
        super().__init__(message)
        self.server_trouble = server_trouble


class Console:
    """Where the demo talks: stdout, with characters the terminal cannot show replaced."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._encoding = getattr(self.stream, "encoding", None) or "utf-8"

    def safe(self, text: str) -> str:
        return text.encode(self._encoding, "replace").decode(self._encoding, "replace")

    def write(self, text: str) -> None:
        self.stream.write(self.safe(text))
        self.stream.flush()

    def line(self, text: str = "") -> None:
        self.write(text + "\n")


class StepProgress:
    """One step's progress: a rich bar redrawn in place on a terminal, a few plain lines otherwise.

    It is an MCP progress callback (``await step(progress, total, message)``). With a total
    the bar fills; without one (edits report steps, not fractions) it pulses. Reports arriving
    after :meth:`done` are ignored: over JSON-RPC a notification can trail its result.
    """

    def __init__(self, console: Console, label: str) -> None:
        self.console = console
        self.label = label
        self.started = time.monotonic()
        self.reports = 0
        self._closed = False
        self._last_message: str | None = None
        self._last_line = ""
        self._last_quarter = -1
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if console.tty:
            self._start_bar()

    def _start_bar(self) -> None:
        from rich.console import Console as RichConsole  # only terminals draw bars
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        self._bar = Progress(
            TextColumn(f"  {self.label:<{LABEL_WIDTH}}", markup=False),
            BarColumn(bar_width=24),
            TaskProgressColumn(),
            TextColumn("{task.fields[message]}", markup=False),
            console=RichConsole(file=self.console.stream, highlight=False),
        )
        self._task = self._bar.add_task(self.label, total=None, message="")
        self._bar.start()

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.update(progress, total, message)

    def update(self, progress: float, total: float | None, message: str | None) -> None:
        if self._closed:
            return
        self.reports += 1
        text = " ".join((message or "").split())
        fraction = max(0.0, min(1.0, progress / total)) if total and total > 0 else None
        if self._bar is not None and self._task is not None:
            if fraction is None:
                self._bar.update(self._task, total=None, message=text)
            else:
                self._bar.update(self._task, total=1.0, completed=fraction, message=text)
            return
        quarter = self._last_quarter if fraction is None else int(fraction * 4)
        if text != self._last_message or quarter != self._last_quarter:
            # Logs and pipes: one line per new message or quarter, not one per report.
            percent = "..." if fraction is None else f"{fraction * 100:3.0f}%".strip()
            line = f"  {self.label:<{LABEL_WIDTH}} {percent:>4}  {text}"
            if line != self._last_line:
                self.console.line(line)
                self._last_line = line
        self._last_message = text
        self._last_quarter = quarter

    def _close(self, tail: str, *, complete: bool) -> None:
        self._closed = True
        if self._bar is not None and self._task is not None:
            if complete:
                self._bar.update(self._task, total=1.0, completed=1.0, message=tail)
            else:
                self._bar.update(self._task, message=tail)
            self._bar.stop()
        else:
            self.console.line(f"  {self.label:<{LABEL_WIDTH}} {tail}")

    def done(self, note: str = "") -> float:
        """Finish the line; returns the seconds the step took."""
        elapsed = time.monotonic() - self.started
        if not self._closed:
            self._close(f"done in {elapsed:.1f} s" + (f" - {note}" if note else ""), complete=True)
        return elapsed

    def fail(self) -> None:
        if not self._closed:
            self._close("failed", complete=False)
