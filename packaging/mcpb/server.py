"""Entry point of the Claude Desktop bundle: the nemo-mcp server on stdio.

The bundle carries the nemo_mcp package next to this file; the host's uv installs the
dependencies listed in the bundle's pyproject.toml and runs this script.
"""

import sys

from nemo_mcp.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
