"""Each history day records the version of the health config that scored it; an old history gains the column."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb

from csm_analytics.health.config import COMPONENTS, load_health_config
from csm_analytics.health.scoring import add_config_version_column, history_sql
from csm_analytics.lib.warehouse import replace_date_range

DAY = dt.date(2026, 3, 1)


def _components(con) -> None:
    cols = ", ".join(f"{c} DOUBLE" for c in COMPONENTS)
    con.execute(f"CREATE TABLE components (account_id VARCHAR, as_of_date DATE, tier VARCHAR, {cols})")
    con.execute(f"INSERT INTO components VALUES ('A1', ?, 'Growth', {', '.join('80' for _ in COMPONENTS)}), "
                f"('A1', ?, 'Growth', {', '.join('80' for _ in COMPONENTS)})", [DAY, DAY + dt.timedelta(days=1)])


def test_version_changes_with_what_scores_and_not_with_the_file_text(tmp_path):
    config = load_health_config()
    assert len(config.version()) == 12 and config.version() == load_health_config().version()
    edited = tmp_path / "health_config.toml"
    edited.write_text("# a comment only\n" + open(config.path).read())
    assert load_health_config(edited).version() == config.version()
    assert dataclasses.replace(config, healthy=config.healthy + 1).version() != config.version()
    weights = {t: dict(p) for t, p in config.weights.items()}
    weights["Growth"]["usage"], weights["Growth"]["support"] = weights["Growth"]["usage"] + 5, weights["Growth"]["support"] - 5
    assert dataclasses.replace(config, weights=weights).version() != config.version()


def test_history_rows_carry_the_version_and_an_old_history_gains_the_column():
    config = load_health_config()
    con = duckdb.connect()
    _components(con)
    con.execute("CREATE SCHEMA core")
    # a history written before versions were recorded: the day's rows without config_version
    con.execute(f"CREATE TABLE core.account_health_history AS "
                f"SELECT * EXCLUDE (config_version) FROM ({history_sql(DAY, DAY, config, components_table='components')})")
    assert add_config_version_column(con) is True
    assert add_config_version_column(con) is False  # once
    nxt = DAY + dt.timedelta(days=1)
    replace_date_range(con, "core.account_health_history", "as_of_date", nxt, nxt,
                       history_sql(nxt, nxt, config, components_table="components"))
    assert con.execute("SELECT as_of_date, config_version, health_score FROM core.account_health_history "
                       "ORDER BY as_of_date").fetchall() == [(DAY, None, 80.0), (nxt, config.version(), 80.0)]


def test_no_history_table_yet_nothing_is_added():
    con = duckdb.connect()
    assert add_config_version_column(con) is False
