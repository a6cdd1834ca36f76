"""nemo-mcp: edit video by conversation from any MCP host.

The package is cut by concept: ``config`` (settings and skill profiles), ``errors``
(the exception tree), ``models`` (wire models), ``events`` (SSE decoding), ``client``
(the HTTP client), ``store`` (durable state), ``session`` (tokens, sessions and
recoveries), ``timeline`` and ``translate`` (pure text helpers), ``server`` (MCP wiring),
``cli`` (the command line) and ``local`` (the embedded ffmpeg engine).
"""

__version__ = "0.1.0"
