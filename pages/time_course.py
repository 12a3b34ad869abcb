"""Time course: mean daily pain per arm with a 95% band, and the full Table 2 (AUC at each horizon, P per horizon)."""
import streamlit as st

from ketapain_core import snippets
from ketapain_core.missing import POLICIES
from ketapain_core.schema import DEFAULT_HORIZONS, OUTCOME_LABELS
from ui import cache, render, sidebar, state

ctx = sidebar.page_context()
render.page_header("Time course", ctx)
render.require_data(ctx)
render.script_downloads(ctx, "time_course")
trial, s = ctx.trial, ctx.settings
arms = trial.arms
label = OUTCOME_LABELS.get(s.outcome, s.outcome)
policy = POLICIES[s.policy]

st.subheader(f"Mean daily {label.lower()} per arm, days 1-{trial.period_days}")
with render.guard("The time course"):
    render.chart(cache.mean_daily_figure(ctx.data_key, s.outcome, s.policy, trial.period_days, tuple(arms),
                                         f"Mean daily {label.lower()} with 95% confidence band", f"{label} (0-10)",
                                         trial.diary), key="time_course")
    n_imp = cache.imputed_days(ctx.data_key, s.outcome, s.policy, trial.period_days, trial.diary)
    st.caption(f"Mean over patients of each day's value after the missing-data policy ({policy.label}; "
               f"{n_imp} imputed day(s) included); band = mean ± t(0.975, n-1) SD / sqrt(n), n = patients with a "
               "value that day (hover to see it).")
    render.download(cache.daily_means(ctx.data_key, s.outcome, s.policy, trial.period_days, tuple(arms),
                                      trial.diary), "daily_means.csv", "Download the daily means (CSV)")

horizons = [h for h in DEFAULT_HORIZONS if h <= trial.period_days]
if trial.period_days not in horizons:
    horizons.append(trial.period_days)
st.subheader(f"Table 2: AUC of {label.lower()} at days {', '.join(map(str, horizons))}")
with render.guard("Table 2"):
    # the current horizon shares the Primary page's cached analysis; the others skip the interaction refit
    shown, raw = render.horizon_table(cache.horizon_table(ctx.data_key, s, tuple(horizons), trial.diary), arms)
    render.plain_table(shown, "table2_by_horizon.csv", download_df=raw)
    render.show_code(ctx, name="table2_horizons", python=snippets.table2_snippet(s, horizons, ctx.file_names,
                                                         bundled=ctx.dataset == state.BUNDLED))
    st.caption(f"Every horizon uses the current policy ({policy.label}), reference {render.esc(s.reference)} and carry-over "
               f"setting; P is the omnibus test of treatment from the crossover mixed model at that horizon. The "
               "paper used no imputation for days 7-28 and LOCF for day 35: switch the policy in the sidebar to "
               "compare.")
