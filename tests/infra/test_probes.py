"""The readiness probes tell a real Kafka and ClickHouse from anything else on the port."""

from __future__ import annotations

import socket
import threading

from infra.clickhouse.migrations import statements
from infra.kafka.broker import probe as kafka_probe
from infra.process import Health
from infra.settings import Settings


def _serve_once(reply: bytes) -> int:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(reply)
        server.close()

    threading.Thread(target=answer, daemon=True).start()
    return port


def test_a_web_server_on_the_kafka_port_is_foreign_not_kafka() -> None:
    port = _serve_once(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    result = kafka_probe(Settings.from_env({"KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}))
    assert result.health is Health.FOREIGN


def test_nothing_listening_is_down() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = kafka_probe(Settings.from_env({"KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}))
    assert result.health is Health.DOWN


def test_migration_files_split_into_single_statements() -> None:
    sql = "-- a comment; with a semicolon\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\nSELECT 1;\n"
    assert statements(sql) == ["CREATE TABLE a (x UInt8) ENGINE = Memory", "SELECT 1"]
