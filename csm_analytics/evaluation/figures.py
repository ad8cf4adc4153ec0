"""The pooled figures of the evaluation, computed from the worlds' saved results (see `measure.py`).

Pure functions of the results: `pooled_figures(results)` is what docs/evaluation.md shows, and the unit tests
feed it hand-built results.
"""

from __future__ import annotations

import math

import numpy as np

from csm_analytics.evaluation import pooling
from csm_analytics.evaluation.pooling import Pooled, pooled_rate, stratified_bootstrap


def _units(results: list[dict], part: str, keys: list[str]) -> list[dict]:
    return [{k: np.asarray(r[part][k], dtype=float) for k in keys} for r in results]


def _per_world(results, part, keys, statistic) -> list[float | None]:
    out = []
    for w in _units(results, part, keys):
        v = statistic([w])
        out.append(None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v))
    return out


def health_figures(results: list[dict], reps: int = pooling.REPS) -> dict:
    units = _units(results, "health", ["health_score", "churned", "lost_revenue"])
    for w in units:
        w["risk"] = 100 - w["health_score"]
    out = {}
    for label in ("churned", "lost_revenue"):
        stat = pooling.auc("risk", label)
        out[label] = {"pooled": stratified_bootstrap(units, stat, reps),
                      "per_world": [None if math.isnan(v := stat([w])) else v for w in units]}
    return out


def churn_model_figures(results: list[dict], reps: int = pooling.REPS) -> dict:
    units = _units(results, "churn", ["churn_probability", "churned"])
    stats = {"roc_auc": pooling.auc("churn_probability", "churned"),
             "pr_auc": pooling.pr_auc("churn_probability", "churned"),
             "brier": pooling.brier("churn_probability", "churned"),
             "base_rate": pooling.mean_of("churned"), "mean_predicted": pooling.mean_of("churn_probability")}
    return {name: {"pooled": stratified_bootstrap(units, stat, reps),
                   "per_world": [None if math.isnan(v := stat([w])) else v for w in units]}
            for name, stat in stats.items()}


def _sum(results, key) -> list[int]:
    return [int(sum(r["cohorts"][key])) for r in results]


def early_warning_figures(results: list[dict]) -> dict:
    contracts, churned = _sum(results, "contracts"), _sum(results, "actually_churned")
    flagged, caught = _sum(results, "flagged_60d_before_end"), _sum(results, "flagged_churners")
    kept = [c - k for c, k in zip(contracts, churned)]
    false_alarms = [f - c for f, c in zip(flagged, caught)]
    rows = {"early_warning_rate": (caught, churned), "share_flagged": (flagged, contracts),
            "false_alarm_rate": (false_alarms, kept), "precision": (caught, flagged), "base_rate": (churned, contracts)}
    return {name: {"pooled": pooled_rate(k, n),
                   "per_world": [kk / nn if nn else None for kk, nn in zip(k, n)]} for name, (k, n) in rows.items()}


def share_within_if_exact(noise_pp: float, band_pp: float) -> float:
    """P(|variance| <= band) for a cohort whose probabilities are all exactly right: variance ~ N(0, noise)."""
    if noise_pp <= 0:
        return 1.0
    return math.erf(band_pp / (noise_pp * math.sqrt(2)))


def cohort_figures(results: list[dict], band_pp: float = 5.0, worst_pp: float = 10.0) -> dict:
    rows = []
    for r in results:
        c = r["cohorts"]
        oracle = c.get("oracle_variance_pp") or [None] * len(c["cohort_quarter"])
        for q, v, noise, o, n in zip(c["cohort_quarter"], c["variance_pp"], c["variance_noise_pp"], oracle,
                                     c["contracts"]):
            rows.append({"seed": r["world"]["seed"], "cohort": q, "contracts": n, "variance_pp": v, "noise_pp": noise,
                         "oracle_variance_pp": o})
    within = [abs(x["variance_pp"]) <= band_pp for x in rows]
    oracle_rows = [x for x in rows if x["oracle_variance_pp"] is not None]
    return {
        "rows": rows,
        "within": pooled_rate([sum(within)], [len(rows)]),
        "expected_within_if_exact": (float(np.mean([share_within_if_exact(x["noise_pp"], band_pp) for x in rows]))
                                     if rows else None),
        "oracle_within": pooled_rate([sum(abs(x["oracle_variance_pp"]) <= band_pp for x in oracle_rows)],
                                     [len(oracle_rows)]),
        "beyond_worst": sum(abs(x["variance_pp"]) > worst_pp for x in rows),
        "max_abs_pp": max((abs(x["variance_pp"]) for x in rows), default=None),
    }


def expansion_figures(results: list[dict], reps: int = pooling.REPS) -> dict:
    lift_units = _units(results, "expansion", ["top_hits", "top_rows", "hits", "rows"])
    forecast_units = _units(results, "forecast", ["variance"])
    abs_mean = pooling.mean_of("variance", np.abs)
    return {"lift": {"pooled": stratified_bootstrap(lift_units, pooling.lift, reps),
                     "per_world": [r["expansion"].get("lift") for r in results]},
            "forecast_abs_variance": {"pooled": stratified_bootstrap(forecast_units, abs_mean, reps),
                                      "per_world": [None if math.isnan(v := abs_mean([w])) else v
                                                    for w in forecast_units]}}


def alert_figures(results: list[dict]) -> list[dict]:
    rules = sorted({rule for r in results for rule in r["alerts"]["rule"]}, key=lambda x: (x == "all rules", x))
    out = []
    for rule in rules:
        hits, observed, alerted, churned = [], [], [], []
        for r in results:
            a = r["alerts"]
            if rule not in a["rule"]:
                continue
            i = a["rule"].index(rule)
            n = int(a["alerts_with_outcome_observed"][i] or 0)
            precision = a["precision_churn_or_downgrade_180d"][i]
            hits.append(round((precision or 0) * n))
            observed.append(n)
            alerted.append(int(a["alerted_60d_before"][i] or 0))
            churned.append(int(a["churned_contracts"][i] or 0))
        out.append({"rule": rule, "precision": pooled_rate(hits, observed), "recall": pooled_rate(alerted, churned)})
    return out


def coaching_figures(results: list[dict]) -> list[dict]:
    """Per insight: churn of treated vs control pooled over worlds (counts summed), the difference with its normal
    95 % interval, and in how many worlds the insight was significant on its own. Adoption rows pool Spearman's rho
    as a mean over worlds (the worlds' CSMs are different people)."""
    names = list(dict.fromkeys(n for r in results for n in r["coaching"]["insight"]))
    out = []
    for name in names:
        rows = [{k: _none_if_nan(r["coaching"][k][r["coaching"]["insight"].index(name)]) for k in r["coaching"]}
                for r in results if name in r["coaching"]["insight"]]
        significant = sum(bool(x["significant"]) for x in rows)
        if rows and rows[0]["churn_rate_treated"] is None and name.startswith("Analytics adoption"):
            rhos = [x["effect_pp"] for x in rows if x["effect_pp"] is not None]
            out.append({"insight": name, "kind": "rho", "value": float(np.mean(rhos)) if rhos else None,
                        "per_world": [x["effect_pp"] for x in rows], "significant_worlds": significant,
                        "worlds": len(rows)})
            continue
        n1 = sum(int(x["n_treated"]) for x in rows)
        n0 = sum(int(x["n_control"]) for x in rows)
        k1 = sum(round((x["churn_rate_treated"] or 0) * int(x["n_treated"])) for x in rows)
        k0 = sum(round((x["churn_rate_control"] or 0) * int(x["n_control"])) for x in rows)
        entry = {"insight": name, "kind": "difference", "n_treated": n1, "n_control": n0, "value": None,
                 "low": None, "high": None, "per_world": [x["effect_pp"] for x in rows],
                 "significant_worlds": significant, "worlds": len(rows)}
        if n1 and n0:
            p1, p0 = k1 / n1, k0 / n0
            se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
            entry.update(rate_treated=p1, rate_control=p0, value=100 * (p1 - p0), low=100 * (p1 - p0 - 1.96 * se),
                         high=100 * (p1 - p0 + 1.96 * se))
        out.append(entry)
    return out


def _none_if_nan(value):
    """A missing value read back from a saved result is NaN (a float column) or None (an object column)."""
    return None if isinstance(value, float) and math.isnan(value) else value


def pooled_figures(results: list[dict], reps: int = pooling.REPS) -> dict:
    """Every figure of the report; `reps` bootstrap replicates per interval."""
    return {"health": health_figures(results, reps), "churn_model": churn_model_figures(results, reps),
            "early_warning": early_warning_figures(results), "cohorts": cohort_figures(results),
            "expansion": expansion_figures(results, reps), "alerts": alert_figures(results),
            "coaching": coaching_figures(results)}


def target_rows(figures: dict, targets: dict[str, float]) -> list[tuple[str, str, Pooled, str]]:
    """(target, threshold text, pooled figure, met/missed) for every pooled target."""
    ew, cohorts, exp = figures["early_warning"], figures["cohorts"], figures["expansion"]
    worst = targets["max_cohort_variance_pp"]
    beyond = cohorts["beyond_worst"]
    return [
        ("health AUC at -60 days (churn)", f">= {targets['health_auc']:.2f}", figures["health"]["churned"]["pooled"],
         figures["health"]["churned"]["pooled"].meets(targets["health_auc"])),
        ("health AUC at -60 days (churn or downgrade)", f">= {targets['health_auc']:.2f}",
         figures["health"]["lost_revenue"]["pooled"], figures["health"]["lost_revenue"]["pooled"].meets(targets["health_auc"])),
        ("early-warning rate", f">= {targets['early_warning_rate']:.0%}", ew["early_warning_rate"]["pooled"],
         ew["early_warning_rate"]["pooled"].meets(targets["early_warning_rate"])),
        ("share of renewals flagged", f"<= {targets['max_share_flagged']:.0%}", ew["share_flagged"]["pooled"],
         ew["share_flagged"]["pooled"].meets(targets["max_share_flagged"], higher_is_better=False)),
        ("cohorts within +/-5 pp", f">= {targets['cohorts_within_5pp']:.0%}", cohorts["within"],
         cohorts["within"].meets(targets["cohorts_within_5pp"])),
        (f"cohorts off by more than {worst:g} pp", "none", Pooled(float(beyond), None, None, len(cohorts["rows"])),
         "met" if beyond == 0 else "missed"),
        ("expansion top-decile lift", f">= {targets['expansion_lift']:g}x", exp["lift"]["pooled"],
         exp["lift"]["pooled"].meets(targets["expansion_lift"])),
        ("expansion forecast mean absolute variance", f"<= {targets['forecast_mean_abs_variance']:.0%}",
         exp["forecast_abs_variance"]["pooled"],
         exp["forecast_abs_variance"]["pooled"].meets(targets["forecast_mean_abs_variance"], higher_is_better=False)),
    ]
