"""The embedded offline engine: the NemoVideo HTTP API on 127.0.0.1, editing with ffmpeg."""
