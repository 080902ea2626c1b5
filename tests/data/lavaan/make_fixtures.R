# Reference fits for analysis/cbsem.py, made with lavaan (Rosseel 2012, J. Stat. Softw. 48(2)).
#
#   cd tests/data/lavaan && Rscript make_fixtures.R
#
# Writes ../political_democracy_{mcar,mar}.csv and ../mobi_{mcar,mar}.csv (holes drawn with
# set.seed, so re-running reproduces them) and one JSON file per (model, data, estimator) here.
# Needs R with lavaan (Debian: r-base-core r-cran-lavaan); no other package. The published
# data sets are read from the shared reference folder (../shared/data beside the project's
# root, or the folder CSI_REFERENCE_DATA names; tests/data/README.md).
suppressMessages(library(lavaan))
shared <- Sys.getenv("CSI_REFERENCE_DATA", file.path("..", "..", "..", "..", "shared", "data"))
data_file <- function(file) {
  if (file %in% c("political_democracy.csv", "mobi.csv")) file.path(shared, file) else file.path("..", file)
}
cat("lavaan", as.character(packageVersion("lavaan")), "\n")

pd <- read.csv(data_file("political_democracy.csv"))
mobi <- read.csv(data_file("mobi.csv"))

# MCAR: each cell missing with probability 0.10, no row left empty.
mcar <- function(data, seed) {
  set.seed(seed)
  holes <- matrix(runif(nrow(data) * ncol(data)) < 0.10, nrow(data))
  holes[rowSums(!holes) == 0, 1] <- FALSE
  data[holes] <- NA
  data
}
# MAR: `anchor` stays complete; every other cell goes missing with a probability that
# rises as the anchor falls (logistic in the standardized anchor), about 10 % overall.
mar <- function(data, anchor, seed) {
  set.seed(seed)
  z <- as.numeric(scale(data[[anchor]]))
  for (name in setdiff(names(data), anchor)) {
    gone <- runif(nrow(data)) < plogis(-2.6 - 1.2 * z)
    data[[name]][gone] <- NA
  }
  data
}
write_data <- function(data, file) write.csv(data, file, row.names = FALSE, na = "")
write_data(mcar(pd, 20261), "../political_democracy_mcar.csv")
write_data(mar(pd, "x1", 20262), "../political_democracy_mar.csv")
write_data(mcar(mobi, 20263), "../mobi_mcar.csv")
write_data(mar(mobi, "CUSA1", 20264), "../mobi_mar.csv")

models <- list(
  pd_cfa = "ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8",
  pd_sem = "ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60",
  pd_sem_rescov = "ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8",
  pd_constrained = "ind60 =~ x1 + x2 + x3
dem60 =~ y1 + a*y2 + b*y3 + c*y4
dem65 =~ y5 + a*y6 + b*y7 + c*y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
x1 ~~ 0.08*x1",
  pd_cfa_fixed = "ind60 =~ 1*x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
ind60 ~~ 0*dem65
y1 ~~ y5",
  mobi_ecsi = "Image =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation =~ CUEX1 + CUEX2 + CUEX3
Quality =~ PERQ1 + PERQ2 + PERQ3 + PERQ4 + PERQ5 + PERQ6 + PERQ7
Value =~ PERV1 + PERV2
Satisfaction =~ CUSA1 + CUSA2 + CUSA3
Complaints =~ CUSCO
Loyalty =~ CUSL1 + CUSL2 + CUSL3
Expectation ~ Image
Quality ~ Expectation
Value ~ Expectation + Quality
Satisfaction ~ Image + Expectation + Quality + Value
Complaints ~ Satisfaction
Loyalty ~ Image + Satisfaction + Complaints"
)

# (data file, estimator, missing)
runs <- list(
  c("complete", "ML", "listwise"), c("complete", "MLR", "listwise"), c("complete", "ML", "ml"),
  c("mcar", "ML", "ml"), c("mcar", "MLR", "ml"), c("mar", "ML", "ml"), c("mar", "MLR", "ml"))

json_value <- function(x) {
  if (is.character(x)) return(paste0('"', gsub('"', '\\\\"', gsub("\n", "\\\\n", x)), '"'))
  if (length(x) == 1 && is.na(x)) return("null")
  if (is.logical(x)) return(tolower(as.character(x)))
  formatC(x, digits = 15, format = "g")
}
json_object <- function(values) {
  parts <- vapply(names(values), function(k) {
    v <- values[[k]]
    text <- if (is.list(v)) json_object(v)
            else if (length(v) > 1 || (is.character(v) && length(v) != 1)) paste0("[", paste(vapply(v, json_value, ""), collapse = ", "), "]")
            else json_value(v)
    paste0('"', k, '": ', text)
  }, "")
  paste0("{", paste(parts, collapse = ", "), "}")
}

measures <- c("npar", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "cfi", "tli", "logl",
              "unrestricted.logl", "aic", "bic", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr",
              "chisq.scaled", "chisq.scaling.factor", "pvalue.scaled", "baseline.chisq.scaled",
              "baseline.chisq.scaling.factor", "cfi.scaled", "tli.scaled", "rmsea.scaled")

for (model_name in names(models)) {
  is_pd <- startsWith(model_name, "pd_")
  stem <- if (is_pd) "political_democracy" else "mobi"
  for (run in runs) {
    file <- if (run[1] == "complete") paste0(stem, ".csv") else paste0(stem, "_", run[1], ".csv")
    data <- read.csv(data_file(file))
    # lavaan's defaults (nlminb, rel.tol 1e-10). On mobi the ECSI likelihood is nearly flat
    # along the Expectation/Quality paths and nlminb stops 1e-8..4e-8 below the optimum (a
    # tighter rel.tol only makes it report non-convergence); the tests allow for that.
    fit <- sem(models[[model_name]], data = data, estimator = run[2], missing = run[3])
    fm <- fitMeasures(fit)
    fm <- as.list(fm[intersect(measures, names(fm))])
    pe <- parameterEstimates(fit, standardized = TRUE)
    pe <- pe[pe$op %in% c("=~", "~", "~~", "~1"), ]
    params <- list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est, se = pe$se, std_all = pe$std.all)
    res <- lavResiduals(fit, type = "cor.bentler")$cov
    out <- list(model_name = model_name, model = models[[model_name]], data = file, estimator = run[2],
                missing = run[3], lavaan = as.character(packageVersion("lavaan")),
                converged = lavInspect(fit, "converged"), nobs = lavInspect(fit, "nobs"),
                fit = fm, parameters = params,
                residual_cor = list(names = colnames(res), values = as.vector(res)))
    name <- paste(model_name, run[1], tolower(run[2]), run[3], sep = "_")
    writeLines(json_object(out), paste0(name, ".json"))
    cat(name, "chisq", fm$chisq, "df", fm$df, "\n")
  }
}
