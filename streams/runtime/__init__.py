"""The machinery every system's rules run in: a pure engine and its Faust wiring.

`rules.py` says what a system's rules must provide; `engine.py` turns raw Kafka messages
into rule calls and outputs without any I/O; `replay.py` runs the engine over a list of
events in memory (tests, replays); `streams/app.py` wires the engine to Kafka with Faust.
"""
