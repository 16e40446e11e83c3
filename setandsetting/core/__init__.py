"""The functional core: formats, curves, timeline and session state. No I/O, no threads."""
