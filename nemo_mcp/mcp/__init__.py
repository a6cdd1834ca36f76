"""The only MCP-aware code: tool registration, transports and the stdio reader."""
