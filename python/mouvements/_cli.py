"""The ``mouvements-gen`` console script: the command itself, linked into the module (same
flags, output and exit codes as the binary)."""

from __future__ import annotations

import signal
import sys


def main() -> None:
    """Runs ``mouvements-gen`` with the process's arguments and exits with its code."""
    from mouvements import _native

    # Ctrl-C is the command's to handle (uploads aborted, exit 130), as in the binary.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_native.cli(["mouvements-gen", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
