"""The command line: argument parsing into Settings, doctor and the demo."""
