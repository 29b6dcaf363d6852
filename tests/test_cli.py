"""The crmbatch command as a user runs it (real subprocesses, both backends)."""

from __future__ import annotations

import json

from tests.processes import cli, create_account


def test_accounts_and_keys(database_url):
    key = create_account(database_url, "acme")
    assert key.startswith("crm_")
    again = cli(database_url, "accounts", "create", "acme")
    assert again.returncode == 1 and "already exists" in again.stderr
    listed = cli(database_url, "accounts", "list")
    assert "acme" in listed.stdout
    second = json.loads(cli(database_url, "keys", "create", "--account", "acme", "--json").stdout)
    keys = cli(database_url, "keys", "list", "--account", "acme").stdout
    assert key[:12] in keys and second["api_key"][:12] in keys
    assert key not in keys  # only prefixes are shown: the keys themselves are not stored
    assert cli(database_url, "keys", "revoke", key[:12]).returncode == 0
    assert "revoked" in cli(database_url, "keys", "list", "--account", "acme").stdout
    assert cli(database_url, "keys", "revoke", "crm_nothing").returncode == 1
    third = json.loads(cli(database_url, "keys", "create", "--account", "acme", "--json").stdout)
    done = cli(database_url, "keys", "revoke", third["api_key"])  # the whole key
    assert done.returncode == 0 and third["api_key"][:12] in done.stdout
    done = cli(database_url, "keys", "revoke", second["api_key"][:9])  # any start naming one
    assert done.returncode == 0, done.stderr
    assert "no active key" in cli(database_url, "keys", "revoke", second["api_key"]).stderr
    assert "too short" in cli(database_url, "keys", "revoke", "crm").stderr
    assert cli(database_url, "keys", "list", "--account", "nobody").returncode == 1


def test_schema_export_and_webhook_secret(database_url, tmp_path):
    create_account(database_url, "acme")
    bad = tmp_path / "bad.yaml"
    bad.write_text("object_types:\n  car:\n    attributes: {x: {type: colour}}\n")
    done = cli(database_url, "schema", "apply", str(bad), "--account", "acme")
    assert done.returncode == 1 and "object_types.car.attributes.x.type" in done.stderr
    exported = json.loads(cli(database_url, "schema", "export", "--account", "acme").stdout)
    assert set(exported["object_types"]) == {"contact", "company", "deal"}  # system types only
    first = cli(database_url, "webhooks", "secret", "--account", "acme").stdout.split()[-1]
    assert first == cli(database_url, "webhooks", "secret", "--account", "acme").stdout.split()[-1]
    rotated = cli(
        database_url, "webhooks", "secret", "--account", "acme", "--rotate"
    ).stdout.split()[-1]
    assert rotated != first and len(rotated) == 64


def test_a_bad_setting_names_the_variable(database_url):
    done = cli(database_url, "accounts", "list", CRMBATCH_EMBEDDED_WORKER="maybe")
    assert done.returncode == 2 and "CRMBATCH_EMBEDDED_WORKER" in done.stderr
