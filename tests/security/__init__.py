"""Security tests: what may be uploaded and how downloads are saved."""
