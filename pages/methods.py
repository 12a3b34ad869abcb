"""Methods: the statistical definitions in plain words, the formulas, references, equivalent R and Stata."""
import streamlit as st

from ketapain_core import snippets
from ketapain_core.analysis import AnalysisSettings
from ketapain_core.lab import LATE_START_TEXT, MECHANISMS
from ketapain_core.missing import POLICIES
from ketapain_core.methods import (DAILY_ASSUMPTION, METHODS, MI_ASSUMPTION, TIPPING_ASSUMPTION, cli_markdown,
                                   estimand_table)
from ketapain_core.responder_predictors import PREDICTORS_NOTE
from ketapain_core.responders import BAND_NOTE, CHANCE_NOTE, PERSISTENCE_NOTE
from ui import render, sidebar

ctx = sidebar.page_context()
render.page_header("Methods", ctx)
s = ctx.settings
arms = ctx.trial.arms if ctx.trial is not None else ["Placebo", "Ketamine", "Ketamine/Mg"]
ref = (s.reference if s is not None else None) or arms[0]
others = [a for a in arms if a != ref]
H = s.horizon if s is not None else 35
carry = s.carryover if s is not None else "exclude"
use_log = bool(s.log) if s is not None else False

st.subheader("Endpoint: area under the daily pain curve")
st.markdown(
    "Each patient fills a diary once a day for D days after each infusion (D = 35 in KETAPAIN). For each "
    "patient-period, the missing-data policy is applied to the whole diary (days 1 to D), then the area under "
    "the curve is cut at the horizon H with the trapezoidal rule, in pain score-days:")
st.latex(r"\mathrm{AUC}_H \;=\; \sum_{d=1}^{H-1} \frac{y_d + y_{d+1}}{2}")
st.markdown("A patient with pain 6 every day has AUC_35 = 6 x 34 = 204. The paper's primary endpoint is the "
            "AUC of average pain at H = 35 under LOCF; days 7, 15, 21 and 28 are exploratory, without imputation.")

st.subheader("Missing diary days")
st.markdown("A day without a diary row, or with a blank pain cell, is missing. The policies:")
st.markdown(render.bullet_list([f"**{p.label}**: {p.description} *Assumes:* {p.assumption}"
                                for p in POLICIES.values()]))
st.markdown("Patient-periods whose AUC is still missing are left out of the model, and the app lists them with "
            "the reason next to the model. The Sensitivity page repeats the analysis under every policy.")

st.subheader("Sensitivity analyses for missing days")
st.markdown("The Sensitivity page repeats the primary analysis under every method below, with a forest plot of "
            "each contrast across methods. docs/methods.md in the project has the same text.")
st.markdown("#### Baseline observation carried forward (BOCF)")
st.markdown(f"**Rule.** {POLICIES['bocf'].description} The app lists the baseline used for each patient-period "
            f"and where it came from. **Assumption.** {POLICIES['bocf'].assumption}")
st.markdown("#### Worst observation carried forward (WOCF)")
st.markdown(f"**Rule.** {POLICIES['wocf'].description} So the AUC at an early horizon never depends on later days. "
            f"**Assumption.** {POLICIES['wocf'].assumption}")
st.markdown("#### Multiple imputation (MI)")
st.markdown(f"**Rule.** {METHODS['mi'].details} **Assumption.** {MI_ASSUMPTION}")
st.latex(r"\hat\sigma^{2}_{*} = \frac{\mathrm{RSS}}{\chi^{2}_{n_d - p}},\qquad "
         r"\beta_{*} \sim N\!\left(\hat\beta,\; \hat\sigma^{2}_{*} (X'X)^{-1}\right),\qquad "
         r"y_{d}^{*} = x' \beta_{*} + \hat\sigma_{*}\, z")
st.markdown("**Rubin's rules.** With completed-data estimates Q_l and squared SEs U_l, l = 1..m:")
st.latex(r"\bar Q = \frac1m \sum_l Q_l,\quad \bar U = \frac1m \sum_l U_l,\quad "
         r"B = \frac{1}{m-1} \sum_l (Q_l - \bar Q)^2,\quad T = \bar U + \left(1 + \frac1m\right) B")
st.markdown("The pooled SE is sqrt(T), and t = Q-bar / sqrt(T) is referred to a t distribution with the "
            "**Barnard-Rubin** small-sample degrees of freedom, where nu_com is the complete-data df (the "
            "contrast's Satterthwaite df, averaged over the imputations):")
st.latex(r"\lambda = \frac{(1 + 1/m)\,B}{T},\quad \nu_{\text{old}} = \frac{m-1}{\lambda^2},\quad "
         r"\nu_{\text{obs}} = \frac{\nu_{\text{com}} + 1}{\nu_{\text{com}} + 3}\,\nu_{\text{com}}"
         r"(1 - \lambda),\quad \nu = \frac{\nu_{\text{old}}\,\nu_{\text{obs}}}{\nu_{\text{old}} + "
         r"\nu_{\text{obs}}}")
st.markdown("As R `mice::pool`, lambda is floored at 1e-4; when B = 0 (nothing imputed) the result is the "
            "complete-data analysis, with nu = nu_com. The fraction of missing information is "
            "(r + 2 / (nu + 3)) / (1 + r), with r = (1 + 1/m) B / U-bar. Sidak adjustment as for the primary "
            "contrasts. Validated against R `mice::pool` and `mice::pool.scalar` on the same completed datasets.")
st.markdown("#### Daily-data mixed model")
st.markdown(f"**Rule.** {METHODS['daily'].details} **Assumption.** {DAILY_ASSUMPTION}")
st.latex(r"\widehat{\mathrm{AUC}}_a = \sum_{d=1}^{H} w_d\, \bar x_{a,d}'\hat\beta,\quad "
         r"w_1 = w_H = \tfrac12,\; w_d = 1 \text{ otherwise};\qquad "
         r"\widehat{\mathrm{AUC}}_a - \widehat{\mathrm{AUC}}_b = L'\hat\beta,\quad "
         r"\mathrm{SE} = \sqrt{L' \widehat V L}")
st.markdown("#### Tipping point (delta-adjusted MI)")
st.markdown(f"**Rule.** {METHODS['tipping'].details} **Assumption.** {TIPPING_ASSUMPTION}")

st.markdown("#### Reference-based multiple imputation (J2R, CR, CIR)")
st.markdown(f"**Rule.** {METHODS['j2r'].details}")
st.latex(r"y_{id} = \mu_{a}(d) + \pi_p + u_i + e_{id},\quad u_i \sim N(0, \tau^2),\quad "
         r"\operatorname{cov}(e_{id}, e_{id'}) = \sigma^2 \rho^{|d - d'|}")
st.markdown("With t the patient-period's last recorded day, a its arm and r the reference arm, the joint mean "
            "of the days is:")
st.latex(r"\text{MAR: } \mu_a(d);\quad \text{J2R: } \mu_a(d)\,[d \le t],\ \mu_r(d)\,[d > t];\quad "
         r"\text{CR: } \mu_r(d);\quad \text{CIR: } \mu_a(d)\,[d \le t],\ "
         r"\mu_a(t) + \mu_r(d) - \mu_r(t)\,[d > t]")
st.markdown(render.bullet_list([f"**{METHODS[k].label}**: {METHODS[k].rule} *Assumes:* {METHODS[k].assumption}"
                                for k in ("j2r", "cr", "cir")]))
st.markdown("Each missing day is drawn from its conditional normal distribution given the patient-period's "
            "recorded days; each completed diary is analysed by the primary model and pooled by Rubin's rules "
            "(Barnard-Rubin df), which is conservative for reference-based imputation. The imputation model is "
            "validated against R `nlme::lme` (random intercept + `corAR1`, ML).")
st.markdown("#### Estimands")
st.markdown("Which question each method answers (ICH E9(R1)); the Sensitivity page opens with this table.")
render.table(estimand_table(H).drop(columns=["method", "Population", "Variable"]))

st.subheader("The crossover mixed model")
st.markdown("For one outcome, horizon and policy, the AUC of patient i in period j is modelled as")
st.latex(r"\mathrm{AUC}_{ij} = \mu + \tau_{t(i,j)} + \pi_j + \sigma_{s(i)} \;[+\, \lambda_{t(i,j-1)}]"
         r" + u_i + \varepsilon_{ij},\qquad u_i \sim N(0, \sigma^2_u),\; \varepsilon_{ij} \sim N(0, \sigma^2_e)")
st.markdown(
    "- **Treatment** tau, coded against the reference arm; **period** pi against period 1; **sequence** sigma "
    "(the patient's treatments in period order, e.g. `Placebo-Ketamine-Ketamine/Mg`); a **random intercept** "
    "u_i per patient. Fitted by restricted maximum likelihood (REML).\n"
    "- **Sequence**: the tuple of arms in period order; its label joins them with `-`, or with another "
    "separator when an arm label contains `-`, so two different orders never share a label.\n"
    "- **Carry-over** lambda (optional): one 0/1 column per non-reference arm X, equal to 1 when the treatment "
    "of period p-1 was X (0 in the first period). A patient with no rows for period p-1 has no known previous "
    "treatment: that patient-period is left out of carry-over models (listed) and kept in the others. "
    "*Exclude*: not fitted; *include*: always fitted; *auto*: fitted, then dropped when its joint Wald test has "
    "P >= 0.05 (the app says which happened).\n"
    "- **Estimability**: aliased columns are dropped as lme4 does; a mean, contrast, effect size or test is shown "
    "only when its linear function lies in the row space of the design (as emmeans checks), otherwise blank with "
    "the reason. A design where treatment is confounded with period (every patient in the same order), or with "
    "no within-patient residual degrees of freedom, is refused with that reason.\n"
    "- **Omnibus test** of treatment: F test with Satterthwaite denominator degrees of freedom (as R lmerTest; "
    "primary) and the Wald chi-square with arms - 1 df (as Stata) beside it.\n"
    "- **Pairwise contrasts** a - b for every pair of arms: difference of model-based means (equal weights over "
    "periods and sequences, as emmeans), SE, Satterthwaite df, t, two-sided P, 95% CI, and the Sidak-adjusted P "
    "for m pairs:")
st.latex(r"P_{\text{Sidak}} = 1 - (1 - P)^{m}")
st.markdown("- **Intraclass correlation**, the between-patient share of the variance, from the REML fit:")
st.latex(r"\mathrm{ICC} = \frac{\sigma^2_u}{\sigma^2_u + \sigma^2_e}")
st.markdown(
    "- **Diagnostics**: Shapiro-Wilk test and QQ plot of the residuals (the paper analysed log-transformed AUC "
    "when the residuals were not normal: the *log(AUC + 1)* switch); Wald test of the sequence x period "
    "interaction; convergence, boundary fits (patient variance at 0) and every optimizer warning are shown.")

st.subheader("Effect sizes and responders")
st.markdown("For arms a and b, over the n patients with an AUC under both, the within-patient standardized "
            "difference and its small-sample corrected version:")
st.latex(r"d_z = \frac{\overline{\mathrm{AUC}_a - \mathrm{AUC}_b}}{\mathrm{SD}(\mathrm{AUC}_a - \mathrm{AUC}_b)},"
         r"\qquad g_z = d_z \cdot \frac{\Gamma\left(\frac{n-1}{2}\right)}{\sqrt{\frac{n-1}{2}}\;"
         r"\Gamma\left(\frac{n-2}{2}\right)}")
st.markdown(
    "with a 95% CI by inverting the noncentral t distribution of d_z sqrt(n) (as R effectsize). A patient "
    "**responds** to arm a when AUC_a is lower than AUC under the reference; stricter thresholds ask for at least "
    "30% or 50% lower, as in the IMMPACT recommendations.")
st.markdown("#### Responders against chance")
st.markdown(render.bullet_list([render.esc(t) for t in (CHANCE_NOTE, BAND_NOTE, PERSISTENCE_NOTE, PREDICTORS_NOTE)]))
st.latex(r"\text{band} \;=\; \pm\, 1.96 \cdot \sqrt{2} \cdot \hat\sigma_{\text{residual}}")

st.subheader("Equivalent statements")
st.markdown(f"For the current settings (reference **{render.esc(ref)}**, horizon **{H}**, carry-over **{carry}**"
            f"{', log scale' if use_log else ''}), with the AUC table (download it on the Primary endpoint page, or "
            "write it with the `auc` command: one row per patient-period with patient, period, treatment, "
            "sequence, auc). The arms are given in the app's order, so the contrasts a - b come out with the app's "
            "signs:")
code_settings = s if s is not None else AnalysisSettings()
st.markdown("**R** (lme4, lmerTest, emmeans, effectsize)")
st.code(snippets.r_snippet(code_settings, ref, arms, auc_file="auc_table.csv"), language="r")
st.markdown("**Stata** (`mixed`, REML; Wald chi-square as Stata reports it; Sidak-adjusted pairwise "
            "comparisons)")
st.code(snippets.stata_snippet(code_settings, ref, arms, auc_file="auc_table.csv"), language="stata")
st.caption("`label define` numbers the arms in the app's order before `encode`, so level 1 is the reference "
           f"({render.esc(ref)}) and `pwcompare` reports the same a - b as the app. "
           "`dfmethod(satterthwaite)` needs Stata 14 or later (the paper used Stata 13).")

st.markdown("**SAS** (`PROC MIXED`, REML, Satterthwaite df; Sidak-adjusted differences of least-squares means)")
st.code(snippets.sas_snippet(code_settings, ref, arms, auc_file="auc_table.csv"), language="sas")

with st.expander("For the command line: the name of each method after --missing", icon=":material/terminal:"):
    st.markdown(cli_markdown() + "\n\nThe daily-data mixed model and the tipping point run here and in the report. "
                "docs/cli.md in the project has the same table.")

st.subheader("Teaching lab: simulation studies")
st.markdown(
    "The Teaching lab simulates trials (SIMULATED data) from the daily model of the bundled dataset and analyses "
    "each with every missing-data method. How diaries go missing:\n\n"
    + render.bullet_list([f"**{m.upper()}**: {render.esc(t)}" for m, t in MECHANISMS.items()]
                         + [render.esc(LATE_START_TEXT)]))
st.markdown(
    "**Truth.** Day d's recorded pain is round(clip(Y, 0, 10)) with Y normal, so its mean is exactly "
    "sum over k = 1..10 of P(Y >= k - 1/2); the truth of a contrast is the trapezoid sum of these differences, "
    "averaged over periods (the direct effect, without carry-over), computed exactly, not estimated.\n\n"
    "**Figures per method and contrast**, each with its Monte Carlo SE (MC SE): mean estimate; bias = mean - "
    "truth (MC SE = empirical SE / sqrt(n)); empirical SE (the SD of the estimates); model SE (the mean of the "
    "model's SEs); coverage of the 95% CI and rejection rate at alpha (power, or type I error when the truth is "
    "0), MC SE sqrt(p(1 - p)/n); patient-periods used; failed fits. Plots: the estimates per method against the "
    "truth (box plots); coverage with 95% Monte Carlo error bars; power against the number of patients, "
    "analytic (noncentral t on the crossover model's contrast variance with its df) beside simulated.\n\n"
    "Each replicate's seed comes from one numpy SeedSequence, so the results are the same on one process, "
    "several, or a Dask cluster. Details: docs/methods.md, \"Teaching lab\".")

st.subheader("References")
st.markdown(render.bullet_list([
    "Pickering G, Pereira B, Morel V, et al. Ketamine and magnesium for refractory neuropathic pain: a randomized, "
    "double-blind, crossover trial. *Anesthesiology* 2020;133:154-64 (NCT02467517).",
    "Delage N, Morel V, Picard P, et al. Effect of ketamine combined with magnesium sulfate in neuropathic pain "
    "patients (KETAPAIN): study protocol for a randomized controlled trial. *Trials* 2017;18:517.",
    "Senn S. *Cross-over Trials in Clinical Research*, 2nd ed. Chichester: Wiley; 2002.",
    "Kenward MG, Roger JH. Small sample inference for fixed effects from restricted maximum likelihood. "
    "*Biometrics* 1997;53:983-97. Satterthwaite FE. An approximate distribution of estimates of variance "
    "components. *Biometrics Bulletin* 1946;2:110-4.",
    "Kuznetsova A, Brockhoff PB, Christensen RHB. lmerTest package: tests in linear mixed effects models. "
    "*J Stat Softw* 2017;82(13).",
    "Verbeke G, Molenberghs G. *Linear Mixed Models for Longitudinal Data*. New York: Springer; 2000.",
    "Dworkin RH, Turk DC, Wyrwich KW, et al. Interpreting the clinical importance of treatment outcomes in "
    "chronic pain clinical trials: IMMPACT recommendations. *J Pain* 2008;9:105-21.",
    "Rubin DB. *Multiple Imputation for Nonresponse in Surveys*. New York: Wiley; 1987. Barnard J, Rubin DB. "
    "Small-sample degrees of freedom with multiple imputation. *Biometrika* 1999;86:948-55.",
    "van Buuren S, Groothuis-Oudshoorn K. mice: multivariate imputation by chained equations in R. "
    "*J Stat Softw* 2011;45(3).",
    "Ratitch B, O'Kelly M, Tosiello R. Missing data in clinical trials: from clinical assumptions to "
    "statistical analysis using pattern mixture models. *Pharm Stat* 2013;12:337-47 (delta adjustment, "
    "tipping point).",
    "Lakens D. Calculating and reporting effect sizes to facilitate cumulative science: a practical primer for "
    "t-tests and ANOVAs. *Front Psychol* 2013;4:863.",
]))
