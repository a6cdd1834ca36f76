"""The wire contract shared by the client and the embedded engine."""
