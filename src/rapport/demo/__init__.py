"""`rapport demo`: a fresh database with the real CDNOW purchase history and invented multi-channel
activity sent through the real HTTP API, then the server keeps running to be explored.

`build_demo_data` does the data part against any running server, so tests can call it;
`run_demo` adds the database, the server, the processor and the wait for Ctrl-C.
"""

from rapport.demo.build import DemoError, DemoSummary, build_demo_data, populate_demo, prepare_demo
from rapport.demo.run import print_summary, run_demo

__all__ = ["DemoError", "DemoSummary", "build_demo_data", "populate_demo", "prepare_demo", "print_summary", "run_demo"]
