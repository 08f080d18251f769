# testthat expectations over crossverify-trace/1 traces (docs/TRACES.md), for an R-only CI that
# regression-tests R code against a trace Python wrote: the first element where two traces part,
# named by epoch, step, intermediate and element, with both values in decimal and hex and their
# distance in ULPs, as Python's pytest plugin (bridge/check/pytest_plugin.py) names it. The ULP
# distance is bridge/check/ulp.py's, computed from the bits with base R alone.

# the 64 bits of each double as two unsigned 32-bit halves, held exactly in doubles (read as
# 16-bit words: a signed 32-bit read would turn 0x80000000, the sign of -0, into NA)
double_halves <- function(x) {
  words <- readBin(writeBin(as.double(x), raw(), size = 8, endian = "little"), "integer",
                   n = 4 * length(x), size = 2, signed = FALSE, endian = "little")
  words <- matrix(as.double(words), nrow = 4)  # one column per double, least significant word first
  list(lo = words[2, ] * 65536 + words[1, ], hi = words[4, ] * 65536 + words[3, ])
}

#' How many representable doubles lie between `a` and `b`, elementwise
#'
#' The bit pattern of a double read as an integer, negated magnitude for a negative double, is
#' monotone in its value: key(x) = bits(x) when the sign bit is clear, -(bits(x) without the sign)
#' when it is set; the distance is |key(a) - key(b)|. So +0 and -0 are 0 apart, `x` and the next
#' double 1. Two values with the same bits (NaNs included) are 0 apart; any other pair holding a
#' NaN (or NA) is `Inf`. Exact up to 2^53 ULPs, rounded to a double beyond.
#' @param a,b numeric vectors (or matrices) of the same length
#' @return a numeric vector of distances
#' @export
ulp_distance <- function(a, b) {
  ha <- double_halves(a)
  hb <- double_halves(b)
  sign_a <- ifelse(ha$hi >= 2^31, -1, 1)
  sign_b <- ifelse(hb$hi >= 2^31, -1, 1)
  # key difference taken in halves: (high difference) 2^32 + (low difference), exact below 2^53
  d_hi <- sign_a * (ha$hi %% 2^31) - sign_b * (hb$hi %% 2^31)
  d_lo <- sign_a * ha$lo - sign_b * hb$lo
  d <- abs(d_hi * 2^32 + d_lo)
  same <- ha$hi == hb$hi & ha$lo == hb$lo
  d[(is.na(a) | is.na(b)) & !same] <- Inf
  d[same] <- 0
  d
}

# "1 ULP apart", "3 ULPs apart"; a NaN in words
format_ulps <- function(n) {
  if (is.infinite(n)) return("not comparable in ULPs (a NaN)")
  sprintf("%.0f ULP%s apart", n, if (n == 1) "" else "s")
}

# a double in decimal (17 significant digits, which read back to the same bits) and C99 hex
format_double <- function(x) sprintf("%.17g (%a)", x, x)

# a trace given as a folder (read_trace) or as a list (twin_run, read_trace), with epochs counted
# from 0 and every intermediate's step number (NA when unknown)
as_trace <- function(x, what) {
  if (is.character(x)) x <- read_trace(x)
  if (!is.list(x) || !is.list(x$steps) || is.null(names(x$steps))) {
    stop(sprintf("%s is neither a trace folder nor a trace list (steps: a named list of arrays)", what),
         call. = FALSE)
  }
  k <- dim(x$steps[[1]])[3]
  if (is.null(x$epochs)) x$epochs <- seq_len(k) - 1L
  if (is.null(x$init)) x$init <- list()
  if (is.null(x$history)) x$history <- list()
  x
}

# a matrix one side stores once per sample and the other once (R's bias matrices against numpy's
# broadcast row) is compared row by row against that one row, as `crossverify compare` does
broadcast_rows <- function(a, rows) if (nrow(a) == 1 && rows > 1) a[rep(1L, rows), , drop = FALSE] else a

# the order intermediates are computed in: by step number where known, else as the trace lists them
step_order <- function(trace) {
  numbers <- trace$step_numbers
  if (is.null(numbers)) return(names(trace$steps))
  names(trace$steps)[order(numbers[names(trace$steps)], seq_along(trace$steps), na.last = TRUE)]
}

# the bits of two doubles are the same (NaN payloads and the sign of zero count)
same_bits <- function(a, b) {
  ha <- double_halves(a)
  hb <- double_halves(b)
  ha$hi == hb$hi & ha$lo == hb$lo
}

# the k-th matrix of a stack c(rows, cols, k), a matrix even when it is 1 x 1
epoch_matrix <- function(a, k) matrix(a[, , k], dim(a)[1], dim(a)[2])

# the first element (in row order) of two matrices whose distance exceeds `ulps` (NULL: whose
# bits differ), or NULL; also how many elements exceed it
first_beyond <- function(a, b, ulps) {
  rows <- max(nrow(a), nrow(b))
  a <- broadcast_rows(a, rows)
  b <- broadcast_rows(b, rows)
  d <- matrix(ulp_distance(a, b), nrow(a), ncol(a))
  bad <- if (is.null(ulps)) matrix(!same_bits(a, b), nrow(a), ncol(a)) else d > ulps
  if (!any(bad)) return(NULL)
  at <- which(t(bad))[1] - 1  # row-major position: rows first, then columns
  i <- at %/% ncol(a) + 1
  j <- at %% ncol(a) + 1
  list(row = i, col = j, actual = a[i, j], reference = b[i, j], ulps = d[i, j], count = sum(bad))
}

# where two traces differ in what they hold rather than in a value: NULL when they match
structure_problem <- function(act, ref) {
  for (group in c("init", "steps", "history")) {
    missing_names <- setdiff(names(ref[[group]]), names(act[[group]]))
    extra <- setdiff(names(act[[group]]), names(ref[[group]]))
    if (length(missing_names)) {
      return(sprintf("the actual trace has no %s '%s' (the reference's %s: %s)", group, missing_names[1], group,
                     paste(names(ref[[group]]), collapse = ", ")))
    }
    if (length(extra)) return(sprintf("the actual trace has a %s '%s' the reference has not", group, extra[1]))
  }
  if (!identical(as.integer(act$epochs), as.integer(ref$epochs))) {
    return(sprintf("the traces record different epochs: actual %s, reference %s",
                   paste(act$epochs, collapse = ", "), paste(ref$epochs, collapse = ", ")))
  }
  for (group in c("init", "steps", "history")) {
    for (name in names(ref[[group]])) {
      da <- dim(act[[group]][[name]])
      dr <- dim(ref[[group]][[name]])
      ok <- length(da) == length(dr) && all(da[-1] == dr[-1]) && (da[1] == dr[1] || da[1] == 1 || dr[1] == 1)
      if (!ok) {
        return(sprintf("%s '%s' is %s in the actual trace and %s in the reference", group, name,
                       paste(da, collapse = " x "), paste(dr, collapse = " x ")))
      }
    }
  }
  NULL
}

#' The first element where two traces part beyond a tolerance
#'
#' Elements are visited as `crossverify compare` orders them: the initial matrices, then epoch by
#' epoch the intermediates in the order they are computed (step number), each element in row order,
#' then the series kept after every epoch (`history`).
#' @param actual,reference trace folders or trace lists (what [read_trace()] or `twin_run()` return).
#' @param ulps how many ULPs apart two elements may be; NULL (the default) asks for the same 64 bits,
#'   so that -0 and 0 differ where `ulps = 0` lets them pass.
#' @return NULL when none is beyond, else a list: `where` (the sentence naming epoch, step,
#'   intermediate and element, counted from 0), `epoch`, `step`, `name`, `row`, `col` (counted
#'   from 1, as R indexes), `actual`, `reference`, `ulps`, `count`; or `problem` when the two
#'   traces do not hold the same things.
#' @export
trace_divergence <- function(actual, reference, ulps = NULL) {
  act <- as_trace(actual, "actual")
  ref <- as_trace(reference, "reference")
  problem <- structure_problem(act, ref)
  if (!is.null(problem)) return(list(problem = problem))
  found <- function(hit, epoch, step, name, group) {
    if (is.null(hit)) return(NULL)
    element <- sprintf("element [%d, %d] (R's [%d, %d])", hit$row - 1, hit$col - 1, hit$row, hit$col)
    at <- if (group == "init") "the initial matrix" else
      sprintf("epoch %d, step %s,%s intermediate", epoch, if (is.na(step)) "?" else step,
              if (group == "history") " the kept" else "")
    c(hit, list(where = sprintf("%s '%s', %s", at, name, element), epoch = epoch, step = step, name = name))
  }
  for (name in names(ref$init)) {
    hit <- first_beyond(as.matrix(act$init[[name]]), as.matrix(ref$init[[name]]), ulps)
    if (!is.null(hit)) return(found(hit, NA, NA, name, "init"))
  }
  order <- step_order(ref)
  for (k in seq_along(ref$epochs)) {
    for (name in order) {
      step <- if (is.null(ref$step_numbers) || is.na(ref$step_numbers[name])) NA else ref$step_numbers[[name]]
      hit <- first_beyond(epoch_matrix(act$steps[[name]], k), epoch_matrix(ref$steps[[name]], k), ulps)
      if (!is.null(hit)) return(found(hit, ref$epochs[k], step, name, "steps"))
    }
  }
  first <- if (is.null(ref$first_epoch)) 0L else ref$first_epoch
  for (name in names(ref$history)) {
    for (k in seq_len(dim(ref$history[[name]])[3])) {
      hit <- first_beyond(epoch_matrix(act$history[[name]], k), epoch_matrix(ref$history[[name]], k), ulps)
      if (!is.null(hit)) return(found(hit, first + k - 1L, NA, name, "history"))
    }
  }
  NULL
}

# the failure message of an expectation: the first divergence, both values, the distance
trace_failure <- function(d, labels, rule) {
  if (!is.null(d$problem)) return(sprintf("%s and %s cannot be compared: %s", labels[1], labels[2], d$problem))
  width <- max(nchar(c("actual", "reference")))
  paste0(
    sprintf("%s is not %s %s: first divergence at %s:\n", labels[1], rule, labels[2], d$where),
    sprintf("    %-*s %s\n", width, "actual", format_double(d$actual)),
    sprintf("    %-*s %s\n", width, "reference", format_double(d$reference)),
    sprintf("    %s (|difference| %.6g)\n", format_ulps(d$ulps), abs(d$actual - d$reference)),
    sprintf("    %d element%s of '%s' there beyond the tolerance", d$count, if (d$count == 1) "" else "s", d$name))
}

need_testthat <- function() {
  if (!requireNamespace("testthat", quietly = TRUE)) {
    stop("the trace expectations need the package testthat: install.packages(\"testthat\")", call. = FALSE)
  }
}

#' Expect two traces to hold the same 64 bits in every element
#'
#' A testthat expectation over two crossverify-trace/1 traces (docs/TRACES.md), e.g. a trace of
#' your R code against one Python wrote. Every initial matrix, every intermediate at every recorded
#' epoch and every kept series must have the same bits (so -0 is not 0, and two NaNs are equal only
#' with the same payload). On failure the message names the first divergence: epoch (counted from
#' 0, as `crossverify trace` counts), step, intermediate and element (counted from 0, with R's
#' 1-based index beside it), both values in decimal and hex, and their distance in ULPs.
#' @param actual,reference trace folders, or trace lists as [read_trace()] and `twin_run()`
#'   return them.
#' @return `actual`, invisibly.
#' @examples
#' \dontrun{
#' run <- twin_run("path/to/my_twin", "my-scenario", epochs = 10)
#' expect_trace_identical(run, "tests/testthat/python-trace")
#' }
#' @export
expect_trace_identical <- function(actual, reference) {
  need_testthat()
  labels <- c(deparse1(substitute(actual)), deparse1(substitute(reference)))
  d <- trace_divergence(actual, reference)
  testthat::expect(is.null(d), if (is.null(d)) "" else trace_failure(d, labels, "bit-identical to"))
  invisible(actual)
}

#' Expect two traces to agree within a number of ULPs in every element
#'
#' As [expect_trace_identical()], with every element allowed `ulps` representable doubles from the
#' reference's ([ulp_distance()]; a NaN matches only a NaN of the same bits).
#' @param actual,reference trace folders, or trace lists.
#' @param ulps the largest distance allowed, in units in the last place (default 4).
#' @return `actual`, invisibly.
#' @export
expect_trace_within <- function(actual, reference, ulps = 4) {
  need_testthat()
  if (!is.numeric(ulps) || length(ulps) != 1 || is.na(ulps) || ulps < 0) {
    stop("expect_trace_within: ulps must be one number, 0 or more", call. = FALSE)
  }
  labels <- c(deparse1(substitute(actual)), deparse1(substitute(reference)))
  d <- trace_divergence(actual, reference, ulps = ulps)
  rule <- sprintf("within %s ULP%s of", format(ulps), if (ulps == 1) "" else "s")
  testthat::expect(is.null(d), if (is.null(d)) "" else trace_failure(d, labels, rule))
  invisible(actual)
}
