"""docs/evaluation.md: the pooled figures with their 95 % intervals, the targets met or missed, per-world rows."""

from __future__ import annotations

from csm_analytics.evaluation.figures import target_rows
from csm_analytics.evaluation.pooling import Pooled


def _num(v, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def _pooled(p: Pooled, fmt: str) -> str:
    if p.value is None:
        return "n/a"
    if p.low is None:
        return format(p.value, fmt)
    return f"{format(p.value, fmt)} ({format(p.low, fmt)}-{format(p.high, fmt)})"


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
        ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _per_world_table(seeds: list[int], named: dict[str, tuple[list, str]]) -> list[str]:
    header = ["figure", *(f"seed {s}" for s in seeds)]
    return _table(header, [[name, *(_num(v, fmt) for v in values)] for name, (values, fmt) in named.items()])


def render(results: list[dict], figures: dict, config, command: str, wall_seconds: float | None,
           measured_at: str, note: str = "") -> str:
    seeds = [r["world"]["seed"] for r in results]
    accounts, csms = results[0]["world"]["accounts"], results[0]["world"]["csms"]
    h, cm, ew = figures["health"], figures["churn_model"], figures["early_warning"]
    cohorts, exp = figures["cohorts"], figures["expansion"]
    lines = [
        "# Model quality on worlds no setting was tuned on", "",
        f"Measured by `{command}` on {measured_at}: {len(results)} generated worlds of {accounts:,} accounts and "
        f"{csms} CSMs each (seeds {', '.join(map(str, seeds))}), every model-quality figure pooled over the worlds "
        "with a 95 % interval. Reproduce with `make evaluate`; `csm-analytics evaluate --help` for smaller runs.", "",
        *([note, ""] if note else []),
        "**Which seeds are which.** The evaluation seeds are listed in "
        "`csm_analytics/evaluation/evaluation_config.toml` and were never used to choose a setting. Settings were "
        f"chosen on seeds {', '.join(map(str, config.dev_seeds_chosen_on))} and checked on seeds "
        f"{', '.join(map(str, config.dev_seeds_checked_on))} (7 is the default demo world); the command refuses "
        "those as evaluation seeds.", "",
        "**Intervals.** Rates (churners flagged, renewals flagged, alerts followed by churn) sum their counts over the "
        "worlds and show the Wilson interval. Every other figure (AUC, PR AUC, Brier, lift, mean |variance|) shows the "
        "2.5-97.5 percentile of 1,000 bootstrap replicates that resample the units (renewals, accounts, quarters) "
        "with replacement inside each world. A target is *met* when the pooled value meets it; the note says when "
        "the interval still crosses the target.", "",
        "## Targets", "",
    ]
    lines += _table(["target", "threshold", "pooled (95 % interval)", "verdict"],
                    [[name, threshold, _pooled(p, ".3f" if "AUC" in name or "lift" in name else
                                            (".0f" if "more than" in name else ".1%")), verdict]
                     for name, threshold, p, verdict in target_rows(figures, config.targets)])
    lines += ["", "## Health score", "",
              "ROC AUC of (100 - score) 60 days before each decided renewal (`core.account_health_history`), against "
              "churn and against churn-or-downgrade (the definition `health/validation.py` uses).", ""]
    lines += _table(["outcome", "pooled AUC (95 % interval)", "renewals"],
                    [["churned", _pooled(h["churned"]["pooled"], ".3f"), h["churned"]["pooled"].n],
                     ["churned or downgraded", _pooled(h["lost_revenue"]["pooled"], ".3f"), h["lost_revenue"]["pooled"].n]])
    lines += ["", "## Churn model (the replay, out of sample)", "",
              "The replayed probability (`ml.churn_snapshots`, each month scored by a model trained before it) 60 "
              "days before each decided renewal, against whether it churned. The oracle AUC (the generator's true "
              "churn probability) is the ceiling on the same worlds.", ""]
    lines += _table(["figure", "pooled (95 % interval)"],
                    [["ROC AUC", _pooled(cm["roc_auc"]["pooled"], ".3f")], ["PR AUC", _pooled(cm["pr_auc"]["pooled"], ".3f")],
                     ["Brier", _pooled(cm["brier"]["pooled"], ".4f")],
                     ["mean predicted", _pooled(cm["mean_predicted"]["pooled"], ".3f")],
                     ["churn rate per renewal", _pooled(cm["base_rate"]["pooled"], ".3f")]])
    lines += ["", "## Early warning", "",
              "A renewal is flagged when its replayed probability reached its month's flag threshold 180 to 60 days "
              "before the end (`marts.renewal_forecast_accuracy`).", ""]
    lines += _table(["figure", "pooled (95 % interval)", "of"],
                    [["early-warning rate (churners flagged)", _pooled(ew["early_warning_rate"]["pooled"], ".1%"),
                      f"{ew['early_warning_rate']['pooled'].n:,} churners"],
                     ["share of renewals flagged", _pooled(ew["share_flagged"]["pooled"], ".1%"),
                      f"{ew['share_flagged']['pooled'].n:,} renewals"],
                     ["false-alarm rate (renewals kept but flagged)", _pooled(ew["false_alarm_rate"]["pooled"], ".1%"),
                      f"{ew['false_alarm_rate']['pooled'].n:,} kept"],
                     ["precision (flagged that churned)", _pooled(ew["precision"]["pooled"], ".1%"),
                      f"{ew['precision']['pooled'].n:,} flagged"],
                     ["base rate (renewals that churned)", _pooled(ew["base_rate"]["pooled"], ".1%"), ""]])
    lines += ["", "## Renewal-forecast cohorts", "",
              f"Share of quarterly cohorts with |variance| <= 5 pp: {_pooled(cohorts['within'], '.0%')} of "
              f"{len(cohorts['rows'])} cohorts. If every probability were exactly right, binomial noise alone "
              f"(`variance_noise_pp`) would leave {_num(cohorts['expected_within_if_exact'], '.0%')} within 5 pp; "
              f"the generator's true probabilities (oracle) put {_pooled(cohorts['oracle_within'], '.0%')} within. "
              f"Cohorts beyond 10 pp: {cohorts['beyond_worst']}; largest absolute variance "
              f"{_num(cohorts['max_abs_pp'], '.1f')} pp.", ""]
    lines += _table(["seed", "cohort", "renewals", "variance pp", "noise pp", "oracle variance pp"],
                    [[x["seed"], x["cohort"], x["contracts"], _num(x["variance_pp"], "+.1f"), _num(x["noise_pp"], ".1f"),
                      _num(x["oracle_variance_pp"], "+.1f")] for x in cohorts["rows"]])
    lines += ["", "## Expansion", ""]
    lines += _table(["figure", "pooled (95 % interval)"],
                    [["top-decile lift (expanded within 180 days)", _pooled(exp["lift"]["pooled"], ".2f")],
                     ["forecast mean absolute variance per quarter", _pooled(exp["forecast_abs_variance"]["pooled"], ".1%")]])
    lines += ["", "## Alerts per rule", "",
              "Precision: alerts followed by churn or downgrade within 180 days; recall: churned contracts whose "
              "account got the rule's alert 365 to 60 days before the end (`marts.alert_quality`).", ""]
    lines += _table(["rule", "precision (95 % interval)", "alerts", "recall (95 % interval)", "churned contracts"],
                    [[a["rule"], _pooled(a["precision"], ".1%"), a["precision"].n, _pooled(a["recall"], ".1%"),
                      a["recall"].n] for a in figures["alerts"]])
    lines += ["", "## Coaching and adoption", "",
              "Renewal insights: churn of treated vs control renewals, counts summed over worlds, the difference in "
              "pp with its normal 95 % interval; adoption: Spearman's rho across CSMs, the mean over worlds. "
              "'Significant in' counts the worlds where the asset stated the finding (p < 0.05).", ""]
    rows = []
    for c in figures["coaching"]:
        if c["kind"] == "rho":
            rows.append([c["insight"], f"rho {_num(c['value'], '+.2f')}", "", f"{c['significant_worlds']} of {c['worlds']}"])
        else:
            rows.append([c["insight"], f"{_num(c['value'], '+.1f')} pp ({_num(c['low'], '+.1f')} to "
                         f"{_num(c['high'], '+.1f')})", f"{c['n_treated']:,} vs {c['n_control']:,}",
                         f"{c['significant_worlds']} of {c['worlds']}"])
    lines += _table(["insight", "pooled effect", "renewals treated vs control", "significant in"], rows)
    lines += ["", "## Per world", ""]
    lines += _per_world_table(seeds, {
        "health AUC (churn)": (h["churned"]["per_world"], ".3f"),
        "health AUC (churn or downgrade)": (h["lost_revenue"]["per_world"], ".3f"),
        "churn model ROC AUC": (cm["roc_auc"]["per_world"], ".3f"),
        "churn model PR AUC": (cm["pr_auc"]["per_world"], ".3f"),
        "churn model Brier": (cm["brier"]["per_world"], ".4f"),
        "oracle churn AUC (ceiling)": ([r["facts"].get("oracle_churn_auc") for r in results], ".3f"),
        "early-warning rate": (ew["early_warning_rate"]["per_world"], ".1%"),
        "share of renewals flagged": (ew["share_flagged"]["per_world"], ".1%"),
        "false-alarm rate": (ew["false_alarm_rate"]["per_world"], ".1%"),
        "precision of flags": (ew["precision"]["per_world"], ".1%"),
        "churn per renewal": (ew["base_rate"]["per_world"], ".1%"),
        "expansion lift": (exp["lift"]["per_world"], ".2f"),
        "forecast mean absolute variance": (exp["forecast_abs_variance"]["per_world"], ".1%"),
        "annual logo churn": ([r["facts"].get("annual_logo_churn") for r in results], ".1%"),
        "trailing-12m NRR": ([r["facts"].get("nrr_trailing_12m") for r in results], ".1%"),
    })
    lines += ["", "## Run time", ""]
    lines += _table(["seed", "generate s", "materialize s", "measure s"],
                    [[r["world"]["seed"], r["world"]["generate_seconds"], r["world"]["materialize_seconds"],
                      r["world"]["measure_seconds"]] for r in results])
    total = sum(r["world"]["generate_seconds"] + r["world"]["materialize_seconds"] + r["world"]["measure_seconds"]
                for r in results)
    lines += ["", f"Sum over worlds: {total / 60:.1f} min" +
              (f"; wall time of this command {wall_seconds / 60:.1f} min." if wall_seconds else ".") +
              " The machine is shared, so these are upper bounds."]
    return "\n".join(lines) + "\n"
