"""The draft (timeline): one model, the operations on it, and its text."""
