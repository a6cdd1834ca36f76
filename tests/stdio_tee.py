"""Run a command and copy its stdout both to our stdout and to a file.

Usage: ``python tests/stdio_tee.py CAPTURE_FILE [--pid-file PATH] COMMAND [ARG ...]``

stdin and stderr are inherited unchanged, so an MCP client talks to the command exactly as
if it had started it; afterwards ``CAPTURE_FILE`` holds every byte the command wrote to
stdout, for the test to check that nothing but protocol messages went there. With
``--pid-file`` the command's process id is written to PATH, so a test can signal the
server itself rather than this wrapper.
"""

from __future__ import annotations

import os
import subprocess
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    capture, command = argv[0], argv[1:]
    pid_file = None
    if command[:1] == ["--pid-file"]:
        pid_file, command = command[1], command[2:]
    child = subprocess.Popen(command, stdout=subprocess.PIPE)
    if pid_file:
        with open(pid_file + ".tmp", "w") as fh:
            fh.write(str(child.pid))
        os.replace(pid_file + ".tmp", pid_file)
    assert child.stdout is not None
    out = sys.stdout.buffer
    with open(capture, "wb", buffering=0) as copy:
        while chunk := os.read(child.stdout.fileno(), 1 << 16):
            copy.write(chunk)
            try:
                out.write(chunk)
                out.flush()
            except BrokenPipeError:  # the client went away; keep capturing until the child ends
                out = open(os.devnull, "wb")  # noqa: SIM115
    return child.wait()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
