"""The wire contract shared by the client and the embedded engine.

``client`` (the typed HTTP client) with ``recovery`` (its one retry and recovery policy),
``models`` (the wire models), ``sse`` and ``events`` (reading a ``/run_sse`` stream), ``adk``
(the typed events and their decoding), ``frames`` (the run request and the event frames the
engine sends) and ``downloads`` (saving an export under the download policy).

Import from the modules: this package deliberately loads nothing, so a light module (the
event types, say) does not pull in the HTTP client at server start-up.
"""
