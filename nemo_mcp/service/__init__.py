"""Projects, edits, exports, uploads and the local store: no MCP, no HTTP server."""
