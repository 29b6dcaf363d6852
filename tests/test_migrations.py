"""The migrations build exactly the declared tables, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crmbatch.db.tables import metadata


def test_migrations_match_the_declared_schema(db):
    with db.write_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_identifiers_written_by_the_old_rule_are_brought_to_nfc(database_url):
    """0004: an ext_id typed decomposed becomes NFC, and a unique text value that was indexed
    lower-cased (it held an "@") is indexed as written; the email kind stays lower-cased."""
    import sqlalchemy as sa
    from alembic import command

    from crmbatch.core import clock
    from crmbatch.db.migrate import alembic_config
    from crmbatch.db.tables import accounts, attributes, identifiers, object_types, records

    engine = sa.create_engine(database_url)
    with engine.begin() as conn:  # back to 0003, as a database of that time would be
        cfg = alembic_config(database_url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
        now = clock.now()
        account = conn.execute(
            accounts.insert()
            .values(name="old", webhook_secret="s", created_at=now)
            .returning(accounts.c.id)
        ).scalar_one()
        type_id = conn.execute(
            object_types.insert()
            .values(
                account_id=account,
                name="car",
                label="Car",
                is_system=False,
                created_at=now,
                updated_at=now,
            )
            .returning(object_types.c.id)
        ).scalar_one()
        conn.execute(
            attributes.insert().values(
                id="a1",
                account_id=account,
                object_type_id=type_id,
                key="code",
                label="Code",
                type="text",
                is_unique=True,
                position=0,
                created_at=now,
            )
        )
        rid = conn.execute(
            records.insert()
            .values(
                account_id=account,
                object_type_id=type_id,
                ext_id="cafe\u0301",
                attributes={"code": "Ab@Shop"},
                created_at=now,
                updated_at=now,
            )
            .returning(records.c.id)
        ).scalar_one()
        conn.execute(
            identifiers.insert().values(
                object_type_id=type_id,
                kind="attr:code",
                value="ab@shop",
                record_id=rid,
                account_id=account,
            )
        )
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert conn.execute(sa.select(records.c.ext_id)).scalar_one() == "caf\u00e9"
        assert conn.execute(sa.select(identifiers.c.value)).scalar_one() == "Ab@Shop"
    engine.dispose()


def test_lists_made_before_folders_are_filed_in_a_first_folder(database_url):
    """0009: every list of an account goes into one folder of its own, "Your first folder"."""
    import sqlalchemy as sa
    from alembic import command

    from crmbatch.core import clock
    from crmbatch.db.migrate import alembic_config
    from crmbatch.db.tables import accounts, folders, lists

    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        cfg = alembic_config(database_url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
        now = clock.now()
        owners = [
            conn.execute(
                accounts.insert()
                .values(name=name, webhook_secret="s", created_at=now)
                .returning(accounts.c.id)
            ).scalar_one()
            for name in ("one", "two", "none")
        ]
        old_lists = sa.table(
            "lists",
            sa.column("uuid"),
            sa.column("account_id"),
            sa.column("name"),
            sa.column("created_at"),
        )
        for i, owner in enumerate([owners[0], owners[0], owners[1]]):
            conn.execute(
                old_lists.insert().values(uuid=f"u{i}", account_id=owner, name="L", created_at=now)
            )
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        made = conn.execute(sa.select(folders.c.account_id, folders.c.name)).all()
        assert sorted(made) == [(owners[0], "Your first folder"), (owners[1], "Your first folder")]
        filed = conn.execute(
            sa.select(lists.c.account_id, folders.c.account_id).join(
                folders, folders.c.id == lists.c.folder_id
            )
        ).all()
        assert len(filed) == 3 and all(a == b for a, b in filed)
    engine.dispose()


def _an_account(conn, now):
    from crmbatch.db.tables import accounts

    return conn.execute(
        accounts.insert()
        .values(name="one", webhook_secret="s", created_at=now)
        .returning(accounts.c.id)
    ).scalar_one()


def _processes_before_0012():
    """The processes table as it was before 0012, its payloads in it."""
    import sqlalchemy as sa

    return sa.table(
        "processes",
        *(sa.column(c) for c in ("id", "account_id", "kind", "dialect", "partition_key")),
        *(sa.column(c) for c in ("status", "received", "requested_at", "attempts")),
        sa.column("payload", sa.JSON),
        sa.column("counts", sa.JSON),
    )


def test_completed_processes_get_their_unapplied_count(database_url):
    """0011: a process completed before it says how many items it did not apply (failed and
    skipped, from its counts); one not completed says nothing yet."""
    import sqlalchemy as sa
    from alembic import command

    from crmbatch.core import clock
    from crmbatch.db.migrate import alembic_config
    from crmbatch.db.tables import processes

    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        cfg = alembic_config(database_url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
        now = clock.now()
        owner = _an_account(conn, now)
        old = _processes_before_0012()
        base = dict(account_id=owner, kind="k", dialect="d", partition_key="p", payload={})
        base["attempts"] = 1
        for status, counts in (
            ("completed", {"received": 5, "created": 2, "failed": 2, "skipped": 1}),
            ("completed", {"received": 3, "created": 3, "failed": 0, "skipped": 0}),
            ("queued", None),
        ):
            conn.execute(
                old.insert().values(
                    **base, status=status, counts=counts, received=5, requested_at=now
                )
            )
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(processes.c.unapplied, processes.c.warned).order_by(processes.c.id)
        ).all()
    assert found == [(3, None), (0, None), (None, None)]
    engine.dispose()


def test_process_payloads_move_to_their_own_table(database_url):
    """0012: each process's payload moves to ``process_payloads``, unchanged, and the worker
    reads it from there."""
    import sqlalchemy as sa
    from alembic import command

    from crmbatch.core import clock
    from crmbatch.core.processes import store
    from crmbatch.db.migrate import alembic_config

    engine = sa.create_engine(database_url)
    payloads = [{"object_type": "vehicle", "records": [{"ext_id": "c-1"}]}, {"n": 2**40}]
    with engine.begin() as conn:
        cfg = alembic_config(database_url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
        now = clock.now()
        owner = _an_account(conn, now)
        old = _processes_before_0012()
        base = dict(account_id=owner, kind="k", dialect="d", partition_key="p", attempts=0)
        ids = [
            conn.execute(
                old.insert()
                .values(**base, status="queued", payload=p, received=1, requested_at=now)
                .returning(old.c.id)
            ).scalar_one()
            for p in payloads
        ]
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert [store.payload(conn, i) for i in ids] == payloads
        assert [r["payload"] for r in store.rows(conn, ids)] == payloads
    engine.dispose()
