# nemo-mcp in a container: MCP over stdio by default, or streamable HTTP with --transport http.
#
#   docker build -t nemo-mcp .
#   docker run -i --rm -v nemo-data:/data nemo-mcp                       # stdio, for an MCP host
#
# To write exports into a host folder as yourself (not as uid 10001), run as your own user and
# keep the state in a host folder you own (create it first, or Docker creates it as root):
#   mkdir -p ~/.nemo-mcp-docker
#   docker run -i --rm --user "$(id -u):$(id -g)" -v ~/.nemo-mcp-docker:/data \
#     -v "$HOME/Videos:$HOME/Videos" -e NEMO_UPLOAD_ROOTS="$HOME/Videos" nemo-mcp
#   docker run --rm -p 127.0.0.1:8765:8765 -v nemo-data:/data \
#     -e NEMO_MCP_AUTH_TOKEN=<a long random string> nemo-mcp --transport http --host 0.0.0.0
FROM python:3.11-slim

# The MCP registry matches an image to its server.json entry by this label.
LABEL io.modelcontextprotocol.server.name="io.github.nemo-mcp/nemo-mcp" \
      org.opencontainers.image.licenses="MIT"

# ffmpeg itself comes inside the imageio-ffmpeg wheel that pip installs below (a static build
# with libx264, libass and libfreetype), so no apt ffmpeg is needed. Titles and captions need a
# font file, which the slim image lacks: DejaVu Sans is the first one the engine looks for.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install from this source tree; the build folder is removed afterwards.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY nemo_mcp ./nemo_mcp
RUN pip install --no-cache-dir . \
    && rm -rf /src

# Run as an unprivileged user. /data keeps the state store (client id, token, projects, render
# ids): mount a volume there so it survives --rm. /work is the working folder, which uploads may
# read from and relative export folders land in: mount your videos there. /work is writable by
# any user (sticky, like /tmp) so that --user "$(id -u):$(id -g)" works without a mount there.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin nemo \
    && mkdir -p /data /work \
    && chown nemo:nemo /data /work \
    && chmod 700 /data \
    && chmod 1777 /work
USER nemo
WORKDIR /work
ENV NEMO_MCP_HOME=/data
VOLUME ["/data"]

EXPOSE 8765
ENTRYPOINT ["nemo-mcp"]
