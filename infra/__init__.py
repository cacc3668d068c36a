"""Starts the real Kafka broker and ClickHouse server as plain processes (no Docker)."""
