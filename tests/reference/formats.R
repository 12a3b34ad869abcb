# Fixtures for the statistical and clinical file formats (issue [15]), written by an independent tool (R haven,
# and jsonlite for a Dataset-JSON written by hand) from ONE diary and ONE patients table, so that the Python
# readers can be checked to give the same Trial, and the same `analyze --json`, from every format.
#
# Source: the bundled simulated trial's first 8 patients (data/simulated/diary.csv and patients.csv), with the
# diary completed to every day 0..35 of every patient-period (a day without a row becomes a row with blank
# pain), so that the long, the wide and the ADaM forms hold exactly the same rows.
#
# Writes tests/reference/fixtures/formats/:
#   diary.csv               the long diary (the reference: every other file must read as the same Trial)
#   patients.csv            the patients table (sex, age, weight, height, pain_type)
#   adpain.csv, adsl.csv    the same as CDISC ADaM: BDS (USUBJID, APERIOD, TRTA, APERDY, ADT, PARAMCD, AVAL) and
#                           ADSL (USUBJID, SUBJID, SEX, AGE, WEIGHTBL, HEIGHTBL, PAINTYPE, TRTSDT, TRTSEQP)
#   adpain_v5.xpt, adsl_v5.xpt   SAS transport version 5 (haven::write_xpt(version = 5)), with labels, the
#                           SAS date ADT / TRTSDT (DATE9.), and special missing values .A and .Z in AVAL
#   adpain_v8.xpt, adsl_v8.xpt   SAS transport version 8 (long labels)
#   adpain.sas7bdat         a SAS dataset (haven::write_sas: ReadStat's sas7bdat writer, deprecated in haven)
#   adpain.json, adsl.json  CDISC Dataset-JSON 1.1 written by hand (jsonlite), ADT as ISO dates, TRTSDT as SAS
#                           date numbers (targetDataType integer)
#   diary.dta, diary.sav    the long diary, treatment coded 1/2/3 with value labels (Stata, SPSS)
#   diary_wide.dta, diary_wide.sav, diary_wide.csv
#                           the wide diary: one row per patient-period, day0..day35 (average pain),
#                           pain_max_d00..pain_max_d35, pain_night_d00..pain_night_d35; arm labelled
#   diary_redcap.csv        a REDCap repeating-instrument export: record_id, redcap_repeat_instrument,
#                           redcap_repeat_instance (= period), arm, the wide day columns; one non-repeating row per
#                           record (sex, age)
#
# Run from the repository root:   Rscript tests/reference/formats.R
# (R 4.2.2, haven 2.5.1, jsonlite 1.8.4; the binary files are written by ReadStat inside haven.)

suppressPackageStartupMessages({ library(haven); library(jsonlite) })

args_dir <- function() {
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grepl("^--file=", a)])
  if (length(f)) dirname(normalizePath(f)) else file.path("tests", "reference")
}
HERE <- args_dir()
ROOT <- normalizePath(file.path(HERE, "..", ".."))
OUT <- file.path(HERE, "fixtures", "formats")
dir.create(OUT, showWarnings = FALSE, recursive = TRUE)

diary0 <- read.csv(file.path(ROOT, "data", "simulated", "diary.csv"), colClasses = c(patient = "character",
                   treatment = "character"))
pats0 <- read.csv(file.path(ROOT, "data", "simulated", "patients.csv"), colClasses = c(patient = "character"))
keep <- sort(unique(diary0$patient))[1:8]
diary0 <- diary0[diary0$patient %in% keep, ]

# Every day 0..35 of every patient-period (days without a row get blank pain)
pp <- unique(diary0[, c("patient", "period", "treatment")])
grid <- merge(pp, data.frame(day = 0:35), by = NULL)
diary <- merge(grid, diary0, by = c("patient", "period", "treatment", "day"), all.x = TRUE)
diary <- diary[order(diary$patient, diary$period, diary$day), ]
rownames(diary) <- NULL
stopifnot(nrow(diary) == nrow(pp) * 36)
write.csv(diary, file.path(OUT, "diary.csv"), row.names = FALSE, na = "")

pats <- pats0[pats0$patient %in% keep, c("patient", "sex", "age", "weight", "height", "pain_type")]
write.csv(pats, file.path(OUT, "patients.csv"), row.names = FALSE, na = "")

ARMS <- c("Placebo", "Ketamine", "Ketamine/Mg")
seqs <- tapply(pp$treatment[order(pp$patient, pp$period)], pp$patient[order(pp$patient, pp$period)],
               paste, collapse = "-")
start <- as.Date("2021-03-01") + 7 * (seq_along(keep) - 1)
names(start) <- keep

# ---- ADaM: ADSL and a BDS dataset (one row per patient, period, day and parameter) ----------------------------
adsl <- data.frame(STUDYID = "KETAPAIN", USUBJID = paste0("KETAPAIN-", pats$patient), SUBJID = pats$patient,
                   SEX = ifelse(pats$sex == "female", "F", "M"), AGE = pats$age, WEIGHTBL = pats$weight,
                   HEIGHTBL = pats$height, PAINTYPE = pats$pain_type, TRTSDT = unname(start[pats$patient]),
                   TRTSEQP = unname(seqs[pats$patient]), stringsAsFactors = FALSE)
params <- data.frame(PARAMCD = c("PAINAVG", "PAINMAX", "PAINNGT"), col = c("pain_average", "pain_max", "pain_night"),
                     PARAM = c("Average daily pain (NRS 0-10)", "Maximal daily pain (NRS 0-10)",
                               "Night pain (NRS 0-10)"), stringsAsFactors = FALSE)
bds <- do.call(rbind, lapply(seq_len(nrow(params)), function(i) {
  data.frame(STUDYID = "KETAPAIN", USUBJID = paste0("KETAPAIN-", diary$patient), APERIOD = diary$period,
             TRTA = diary$treatment, TRTAN = match(diary$treatment, ARMS), APERDY = diary$day,
             ADT = unname(start[diary$patient]) + (diary$period - 1) * 49 + diary$day,
             PARAMCD = params$PARAMCD[i], PARAM = params$PARAM[i], AVAL = diary[[params$col[i]]],
             stringsAsFactors = FALSE)
}))
bds <- bds[order(bds$USUBJID, bds$PARAMCD, bds$APERIOD, bds$APERDY), ]
rownames(bds) <- NULL
csv_bds <- bds
csv_bds$ADT <- format(csv_bds$ADT, "%Y-%m-%d")
write.csv(csv_bds, file.path(OUT, "adpain.csv"), row.names = FALSE, na = "")
csv_adsl <- adsl
csv_adsl$TRTSDT <- format(csv_adsl$TRTSDT, "%Y-%m-%d")
write.csv(csv_adsl, file.path(OUT, "adsl.csv"), row.names = FALSE, na = "")

labelled_bds <- function(x, tag_missing) {
  if (tag_missing) {  # SAS special missing values: .A for "not done", .Z for "not applicable", on some missings
    miss <- which(is.na(x$AVAL))
    aval <- as.numeric(x$AVAL)
    aval[miss[seq(1, length(miss), by = 3)]] <- tagged_na("A")
    aval[miss[seq(2, length(miss), by = 3)]] <- tagged_na("Z")
    x$AVAL <- aval
  }
  labs <- c(STUDYID = "Study Identifier", USUBJID = "Unique Subject Identifier", APERIOD = "Period",
            TRTA = "Actual Treatment", TRTAN = "Actual Treatment (N)", APERDY = "Relative Day in Period",
            ADT = "Analysis Date", PARAMCD = "Parameter Code", PARAM = "Parameter",
            AVAL = "Analysis Value")
  for (v in names(labs)) attr(x[[v]], "label") <- labs[[v]]
  attr(x$ADT, "format.sas") <- "DATE9"
  attr(x$AVAL, "format.sas") <- "8.1"
  x
}
labelled_adsl <- function(x) {
  labs <- c(STUDYID = "Study Identifier", USUBJID = "Unique Subject Identifier", SUBJID = "Subject Identifier",
            SEX = "Sex", AGE = "Age", WEIGHTBL = "Weight (kg) at Baseline", HEIGHTBL = "Height (m) at Baseline",
            PAINTYPE = "Type of Neuropathic Pain", TRTSDT = "Date of First Exposure to Treatment",
            TRTSEQP = "Planned Sequence of Treatments")
  for (v in names(labs)) attr(x[[v]], "label") <- labs[[v]]
  attr(x$TRTSDT, "format.sas") <- "DATE9"
  x
}
write_xpt(labelled_bds(bds, TRUE), file.path(OUT, "adpain_v5.xpt"), version = 5, name = "ADPAIN",
          label = "Daily Pain Diary Analysis Dataset")
write_xpt(labelled_adsl(adsl), file.path(OUT, "adsl_v5.xpt"), version = 5, name = "ADSL",
          label = "Subject-Level Analysis Dataset")
write_xpt(labelled_bds(bds, TRUE), file.path(OUT, "adpain_v8.xpt"), version = 8, name = "ADPAIN",
          label = "Daily Pain Diary Analysis Dataset")
write_xpt(labelled_adsl(adsl), file.path(OUT, "adsl_v8.xpt"), version = 8, name = "ADSL",
          label = "Subject-Level Analysis Dataset")
suppressWarnings(write_sas(labelled_bds(bds, TRUE), file.path(OUT, "adpain.sas7bdat")))

# ---- CDISC Dataset-JSON 1.1, by hand ----------------------------------------------------------------------------
dataset_json <- function(x, name, label, types, target = list(), formats = list()) {
  cols <- lapply(names(x), function(v) {
    col <- list(itemOID = paste0("IT.", name, ".", v), name = v,
                label = if (is.null(attr(x[[v]], "label"))) v else attr(x[[v]], "label"), dataType = types[[v]])
    if (!is.null(target[[v]])) col$targetDataType <- target[[v]]
    if (!is.null(formats[[v]])) col$displayFormat <- formats[[v]]
    if (types[[v]] == "string") col$length <- max(1L, max(nchar(x[[v]]), na.rm = TRUE))
    col
  })
  values <- x
  for (v in names(values)) {
    attributes(values[[v]]) <- NULL
    if (inherits(x[[v]], "Date")) {
      values[[v]] <- if (identical(target[[v]], "integer")) as.integer(x[[v]] - as.Date("1960-01-01"))
                     else format(x[[v]], "%Y-%m-%d")
    }
  }
  doc <- list(datasetJSONCreationDateTime = "2026-01-01T00:00:00", datasetJSONVersion = "1.1.0",
              fileOID = paste0("ketapain.", tolower(name)), originator = "KETAPAIN Explorer tests (formats.R)",
              sourceSystem = list(name = "R haven/jsonlite", version = as.character(packageVersion("jsonlite"))),
              studyOID = "KETAPAIN", metaDataVersionOID = "MDV.1", itemGroupOID = paste0("IG.", name),
              records = nrow(x), name = name, label = label, columns = cols,
              rows = unname(lapply(seq_len(nrow(values)), function(i) unname(as.list(values[i, , drop = FALSE])))))
  toJSON(doc, auto_unbox = TRUE, na = "null", null = "null", digits = NA, pretty = FALSE)
}
bds_l <- labelled_bds(bds, FALSE)
writeLines(dataset_json(bds_l, "ADPAIN", "Daily Pain Diary Analysis Dataset",
                        list(STUDYID = "string", USUBJID = "string", APERIOD = "integer", TRTA = "string",
                             TRTAN = "integer", APERDY = "integer", ADT = "date", PARAMCD = "string",
                             PARAM = "string", AVAL = "double"), formats = list(ADT = "DATE9", AVAL = "8.1")),
           file.path(OUT, "adpain.json"), useBytes = TRUE)
adsl_l <- labelled_adsl(adsl)
writeLines(dataset_json(adsl_l, "ADSL", "Subject-Level Analysis Dataset",
                        list(STUDYID = "string", USUBJID = "string", SUBJID = "string", SEX = "string",
                             AGE = "integer", WEIGHTBL = "double", HEIGHTBL = "double", PAINTYPE = "string",
                             TRTSDT = "date", TRTSEQP = "string"),
                        target = list(TRTSDT = "integer"), formats = list(TRTSDT = "DATE9")),
           file.path(OUT, "adsl.json"), useBytes = TRUE)

# ---- Stata and SPSS: the long diary with the arm coded 1/2/3 and value labels ----------------------------------
coded <- diary
coded$treatment <- labelled(match(diary$treatment, ARMS), setNames(1:3, ARMS), label = "Treatment received")
attr(coded$pain_average, "label") <- "Average daily pain (NRS 0-10)"
write_dta(coded, file.path(OUT, "diary.dta"), version = 15)
write_sav(coded, file.path(OUT, "diary.sav"))

# ---- the wide diary: one row per patient-period, one column per day and outcome --------------------------------
wide <- pp[order(pp$patient, pp$period), ]
rownames(wide) <- NULL
for (o in c("pain_average", "pain_max", "pain_night")) {
  for (d in 0:35) {
    name <- if (o == "pain_average") paste0("day", d) else sprintf("%s_d%02d", o, d)
    sub <- diary[diary$day == d, ]
    wide[[name]] <- sub[[o]][match(paste(wide$patient, wide$period), paste(sub$patient, sub$period))]
  }
}
write.csv(wide, file.path(OUT, "diary_wide.csv"), row.names = FALSE, na = "")
wide_coded <- wide
wide_coded$treatment <- labelled(match(wide$treatment, ARMS), setNames(1:3, ARMS), label = "Treatment received")
write_dta(wide_coded, file.path(OUT, "diary_wide.dta"), version = 15)
write_sav(wide_coded, file.path(OUT, "diary_wide.sav"))

# ---- REDCap: a repeating instrument 'pain_diary' (instance = period), one non-repeating row per record ---------
rc_rep <- data.frame(record_id = wide$patient, redcap_repeat_instrument = "pain_diary",
                     redcap_repeat_instance = wide$period, arm = wide$treatment, stringsAsFactors = FALSE)
rc_rep <- cbind(rc_rep, wide[, -(1:3)])
rc_base <- rc_rep[!duplicated(rc_rep$record_id), ]
rc_base[, ] <- NA
rc_base$record_id <- unique(rc_rep$record_id)
rc_base$redcap_repeat_instrument <- ""
rc_base <- cbind(rc_base, sex = pats$sex[match(rc_base$record_id, pats$patient)],
                 age = pats$age[match(rc_base$record_id, pats$patient)])
rc_rep$sex <- NA
rc_rep$age <- NA
redcap <- rbind(rc_base, rc_rep)
redcap <- redcap[order(redcap$record_id, !is.na(redcap$redcap_repeat_instance), redcap$redcap_repeat_instance), ]
write.csv(redcap, file.path(OUT, "diary_redcap.csv"), row.names = FALSE, na = "")

cat("formats.R: wrote", length(list.files(OUT)), "files to", OUT, "\n")
