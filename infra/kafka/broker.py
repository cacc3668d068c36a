"""The Apache Kafka broker as a plain process: jars from Maven Central, KRaft, one node.

`kafka_service(settings)` describes it for `infra.process`: before a start it checks Java
and Maven, fetches the broker's class path (the `kafka_2.13` artifact plus the SLF4J
reload4j binding it lacks, see `pom.xml`) into the ignored cache, writes `server.properties`
and formats the KRaft storage once. It is ready when it answers a Metadata request listing
itself as a broker, which is what every client does first.
"""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import uuid
from pathlib import Path

from infra.process import Health, Probe, Service, ServiceError
from infra.settings import KAFKA_VERSION, Settings

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J = HERE / "log4j.properties"
JVM_HEAP = ("-Xms256m", "-Xmx1g")


def libs_dir(settings: Settings) -> Path:
    return settings.cache_dir / f"kafka-{KAFKA_VERSION}" / "libs"


def _require(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ServiceError(f"kafka: `{tool}` is not on PATH; {why}")
    return path


def fetch_jars(settings: Settings) -> Path:
    """The broker's class path folder, downloaded with Maven on first use."""
    libs = libs_dir(settings)
    done = libs / ".complete"
    if done.exists():
        return libs
    mvn = _require("mvn", "Maven fetches the Kafka jars from Maven Central (apt-get install maven)")
    partial = libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={partial}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
        raise ServiceError(
            "kafka: Maven could not fetch the broker jars from Maven Central:\n"
            + (result.stdout + result.stderr)[-3000:]
        )
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    done.write_text(KAFKA_VERSION + "\n")
    return libs


def server_properties(settings: Settings) -> str:
    host, port, ctl = settings.kafka_host, settings.kafka_port, settings.kafka_controller_port
    data = settings.data_dir("kafka") / "data"
    return "\n".join(
        [
            "# Written by infra on every start; edit infra/kafka/broker.py instead.",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{host}:{ctl}",
            f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{ctl}",
            f"advertised.listeners=PLAINTEXT://{host}:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data}",
            # Workers create their topics with the partition count they need; this default
            # only applies to topics a client auto-creates.
            "num.partitions=8",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=8",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            # One node: waiting for more group members only slows every test's consumer.
            "group.initial.rebalance.delay.ms=0",
            "log.retention.hours=168",
            "log.segment.bytes=104857600",
            "",
        ]
    )


def _prepare(settings: Settings) -> None:
    _require("java", "the Kafka broker needs Java 17 (apt-get install openjdk-17-jre-headless)")
    libs = fetch_jars(settings)
    home = settings.data_dir("kafka")
    home.mkdir(parents=True, exist_ok=True)
    props = home / "server.properties"
    props.write_text(server_properties(settings))
    if not (home / "data" / "meta.properties").exists():
        cluster_id = _cluster_id()
        result = subprocess.run(
            [
                "java",
                "-cp",
                f"{libs}/*",
                f"-Dlog4j.configuration=file:{LOG4J}",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(props),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceError(
                "kafka: formatting the KRaft storage failed:\n" + result.stdout + result.stderr
            )


def _cluster_id() -> str:
    # KRaft wants a base64url UUID without padding, like `kafka-storage random-uuid` prints.
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def metadata_brokers(host: str, port: int, timeout_s: float = 2.0) -> list[tuple[int, str, int]]:
    """Send a Metadata v0 request and return the brokers it lists (node id, host, port).

    Raises OSError when nothing answers and ValueError when the answer is not Kafka's.
    """
    client = b"infra-probe"
    body = struct.pack(">i", 0)  # v0: an empty topic list means "all topics"
    header = struct.pack(">hhih", 3, 0, 7, len(client)) + client
    request = header + body
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _read(sock, 4))[0]
        if not 8 <= size <= 64 * 1024 * 1024:
            raise ValueError(f"answer of {size} bytes is not a Kafka response")
        payload = _read(sock, size)
    correlation, count = struct.unpack(">ii", payload[:8])
    if correlation != 7 or not 0 <= count < 10_000:
        raise ValueError("answer is not a Kafka Metadata response")
    brokers, pos = [], 8
    for _ in range(count):
        node, hlen = struct.unpack(">ih", payload[pos : pos + 6])
        pos += 6
        bhost = payload[pos : pos + hlen].decode()
        pos += hlen
        (bport,) = struct.unpack(">i", payload[pos : pos + 4])
        pos += 4
        brokers.append((node, bhost, bport))
    return brokers


def _read(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            raise ValueError("connection closed mid-answer")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def probe(settings: Settings) -> Probe:
    try:
        brokers = metadata_brokers(settings.kafka_host, settings.kafka_port)
    except ConnectionRefusedError:
        return Probe(Health.DOWN)
    except (TimeoutError, ConnectionResetError, ValueError, struct.error) as exc:
        return Probe(Health.FOREIGN, f"no Kafka Metadata answer: {exc}")
    except OSError as exc:
        return Probe(Health.DOWN, str(exc))
    if not brokers:
        return Probe(Health.STARTING, "answers, no broker registered yet")
    return Probe(Health.READY, f"Kafka {KAFKA_VERSION} KRaft, brokers {brokers}")


def kafka_service(settings: Settings) -> Service:
    libs = libs_dir(settings)
    command = [
        "java",
        *JVM_HEAP,
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{LOG4J}",
        "-cp",
        f"{libs}/*",
        "kafka.Kafka",
        str(settings.data_dir("kafka") / "server.properties"),
    ]
    return Service(
        name="kafka",
        command=command,
        log_file=settings.log_file("kafka"),
        pid_file=settings.pid_file("kafka"),
        address=settings.kafka_bootstrap,
        probe=lambda: probe(settings),
        extra_ports=[(settings.kafka_host, settings.kafka_controller_port)],
        prepare=lambda: _prepare(settings),
        start_timeout_s=90.0,
        hint=f"bootstrap {settings.kafka_bootstrap}",
    )
