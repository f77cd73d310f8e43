"""The AsyncAPI documents name the servers a deployment has, with SASL/SCRAM as their
security scheme; an operator generates them for another deployment with --server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_documents_name_the_repositorys_own_servers_with_scram():
    for service in ("booking", "reception", "crm", "hr"):
        document = json.loads((ROOT / "docs" / "asyncapi" / f"{service}.json").read_text())
        servers = document["servers"]
        assert servers["production"]["host"] == "club-kafka-bootstrap.kafka.svc:9093"
        assert servers["production"]["protocol"] == "kafka-secure"
        assert servers["local"]["protocol"] == "kafka"
        for server in servers.values():
            assert server["security"] == [{"$ref": "#/components/securitySchemes/scram"}]
        assert document["components"]["securitySchemes"]["scram"]["type"] == "scramSha512"


def test_an_operator_generates_them_for_another_deployment(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"),
         "--server", "club=SASL_SSL://kafka.club.internal:9093",
         "--server", "lab=PLAINTEXT://10.0.0.5:9092", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "crm.json").read_text())
    assert document["servers"] == {
        "club": {"host": "kafka.club.internal:9093", "protocol": "kafka-secure",
                 "description": "security.protocol=SASL_SSL",
                 "security": [{"$ref": "#/components/securitySchemes/scram"}]},
        "lab": {"host": "10.0.0.5:9092", "protocol": "kafka",
                "description": "security.protocol=PLAINTEXT"}}
    refused = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "--server", "x=kafka:9092",
         "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode != 0 and "NAME=PROTOCOL://HOST:PORT" in refused.stderr
