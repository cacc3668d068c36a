"""The Kafka broker infra runs: `broker.py` (fetch, configure, start, probe), `pom.xml` (its
class path on Maven Central) and `log4j.properties` (its logging)."""
