# Traces on disk in the format both languages share, crossverify-trace/1 (docs/TRACES.md): a folder
# holding index.json and one .bin file per array of raw little-endian float64 values in row-major
# order, a per-epoch array being its epochs one after another. Base R's writeBin/readBin and
# jsonlite are all it takes, so an R user writes a trace with plain Rscript and no Python.
# Read it beside bridge/check/traceio.py, its Python half.

TRACE_FORMAT <- "crossverify-trace/1"

# the values of a matrix (rows x cols) or a stack of them (rows x cols x k) in row-major order:
# R stores column-major, so rows and columns are swapped before the values are read out
row_major <- function(a) {
  if (length(dim(a)) == 3) as.vector(aperm(a, c(2, 1, 3))) else as.vector(t(a))
}

# the inverse of row_major for a given per-matrix shape and count (NULL: a single matrix)
from_row_major <- function(values, shape, count = NULL) {
  if (is.null(count)) return(matrix(values, nrow = shape[1], ncol = shape[2], byrow = TRUE))
  aperm(array(values, c(shape[2], shape[1], count)), c(2, 1, 3))
}

trace_file_name <- function(group, name) paste0(group, "-", gsub("[^A-Za-z0-9_.-]", "_", name), ".bin")

#' Write a trace in the crossverify-trace/1 format (docs/TRACES.md)
#'
#' A folder holding `index.json` and one `.bin` file per array (little-endian float64, row-major),
#' which `crossverify compare` and Python's `bridge/check/traceio.py` read bit for bit. The folder
#' is built beside `path` and renamed into place, so no half trace is ever left; an existing trace
#' folder at `path` is replaced, anything else there is refused.
#'
#' @param trace a list with `steps` (each intermediate as an array `c(rows, cols, epochs)`) and
#'   optionally `history` (values after every epoch, `c(rows, cols, n_epochs)`): what
#'   `twin_run()` returns, or what [read_trace()] returns.
#' @param path the folder to write.
#' @param init named list of the initial matrices (a scenario's `init`).
#' @param epochs the epochs the steps hold, counted from 0 as the article prints them (R's loop
#'   index minus 1; for `twin_run(..., record = r)` give `r - 1`). Default: 0, 1, ...
#' @param step_numbers optional named integer vector: each intermediate's step number.
#' @param meta optional named list: `twin`, `scenario` and `producer` (a list; `language` is "R").
#' @param first_epoch the epoch the history starts at (default 0).
#' @return `path`, invisibly.
#' @examples
#' \dontrun{
#' s <- read_scenario("fixtures/bias-net/manifest.json")
#' state <- bias_net_start(s$data$X, s$init, "corrected")
#' run <- twin_run(bias_net_epoch, c(s$data, list(lr = s$lr, variant = "corrected")), state, 10)
#' write_trace(run, "bias-net-r", init = s$init)
#' }
#' @export
write_trace <- function(trace, path, init = trace$init, epochs = trace$epochs, step_numbers = trace$step_numbers,
                        meta = trace$meta, first_epoch = if (is.null(trace$first_epoch)) 0L else trace$first_epoch) {
  steps <- trace$steps
  history <- if (is.null(trace$history)) list() else trace$history
  if (is.null(init)) init <- list()
  if (length(steps) == 0 || is.null(names(steps))) {
    stop("write_trace: trace$steps must be a named list of arrays", call. = FALSE)
  }
  counts <- vapply(steps, function(a) if (length(dim(a)) == 3) dim(a)[3] else NA_integer_, 1L)
  if (anyNA(counts) || length(unique(counts)) != 1) {
    stop("write_trace: every trace$steps element must be an array c(rows, cols, epochs) with the same epochs",
         call. = FALSE)
  }
  if (is.null(epochs)) epochs <- seq_len(counts[1]) - 1L
  if (length(epochs) != counts[1]) {
    stop(sprintf("write_trace: %d epochs given for steps that hold %d", length(epochs), counts[1]), call. = FALSE)
  }
  n_epochs <- if (length(history)) dim(history[[1]])[3] else length(epochs)
  parent <- dirname(normalizePath(path, mustWork = FALSE))
  if (!dir.exists(parent)) stop(sprintf("write_trace: the folder %s does not exist", parent), call. = FALSE)
  if (file.exists(path) && !file.exists(file.path(path, "index.json"))) {
    stop(sprintf("write_trace: %s exists and is not a trace folder; nothing was written", path), call. = FALSE)
  }
  if (is.null(meta)) meta <- list()
  producer <- meta$producer
  if (is.null(producer)) {
    producer <- list(language = "R", implementation = "r",
                     r_version = paste(R.version$major, R.version$minor, sep = "."))
  }

  entry <- function(group, name, a, per_epoch) {
    shape <- if (per_epoch) dim(a)[1:2] else dim(as.matrix(a))
    e <- list(name = name, shape = I(as.integer(shape)), file = trace_file_name(group, name))
    if (group == "steps") {
      e$step <- if (!is.null(step_numbers) && !is.na(step_numbers[name])) as.integer(step_numbers[[name]]) else NA
    }
    e
  }
  index <- list(
    format = TRACE_FORMAT, byte_order = "little", dtype = "float64",
    layout = paste("each .bin file holds float64 values, little-endian, in row-major order (the last index fastest);",
                   "a per-epoch array holds its epochs one after another, in the order of 'epochs'",
                   "(history: every epoch from first_epoch)"),
    twin = if (is.null(meta$twin)) NA else meta$twin,
    scenario = if (is.null(meta$scenario)) NA else meta$scenario,
    producer = producer,
    first_epoch = as.integer(first_epoch), n_epochs = as.integer(n_epochs), epochs = I(as.integer(epochs)),
    init = unname(lapply(names(init), function(n) entry("init", n, init[[n]], FALSE))),
    steps = unname(lapply(names(steps), function(n) entry("steps", n, steps[[n]], TRUE))),
    history = unname(lapply(names(history), function(n) entry("history", n, history[[n]], TRUE)))
  )
  tmp <- tempfile(pattern = ".crossverify-trace-", tmpdir = parent)
  dir.create(tmp)
  on.exit(unlink(tmp, recursive = TRUE), add = TRUE)
  put <- function(group, arrays) {
    for (n in names(arrays)) {
      writeBin(row_major(if (group == "init") as.matrix(arrays[[n]]) else arrays[[n]]),
               file.path(tmp, trace_file_name(group, n)), size = 8, endian = "little")
    }
  }
  put("init", init)
  put("steps", steps)
  put("history", history)
  writeLines(jsonlite::toJSON(index, auto_unbox = TRUE, pretty = TRUE, digits = NA, na = "null", null = "null"),
             file.path(tmp, "index.json"))
  old <- NULL
  if (file.exists(path)) {
    old <- tempfile(pattern = ".crossverify-old-", tmpdir = parent)
    file.rename(path, old)
  }
  if (!file.rename(tmp, path)) {
    if (!is.null(old)) file.rename(old, path)
    stop(sprintf("write_trace: cannot write %s; nothing was changed", path), call. = FALSE)
  }
  if (!is.null(old)) unlink(old, recursive = TRUE)
  invisible(path)
}

#' Read a trace in the crossverify-trace/1 format (docs/TRACES.md)
#'
#' Reads what [write_trace()] or Python's `crossverify trace --format folder` wrote, bit for bit.
#'
#' @param path a trace folder (holding `index.json`).
#' @return a list: `init` (named list of matrices), `epochs` (counted from 0), `steps` (each
#'   intermediate as an array `c(rows, cols, epochs)`, as `twin_run()` returns them), `history`
#'   (`c(rows, cols, n_epochs)`), `step_numbers` (named integer vector, NA where unknown),
#'   `first_epoch`, `n_epochs` and `meta` (`twin`, `scenario`, `producer`).
#' @export
read_trace <- function(path) {
  index_path <- file.path(path, "index.json")
  if (!file.exists(index_path)) stop(sprintf("read_trace: %s holds no index.json", path), call. = FALSE)
  index <- jsonlite::fromJSON(index_path, simplifyVector = FALSE)
  if (!identical(index$format, TRACE_FORMAT)) {
    stop(sprintf("read_trace: %s is not in the format %s", path, TRACE_FORMAT), call. = FALSE)
  }
  epochs <- as.integer(unlist(index$epochs))
  n_epochs <- as.integer(index$n_epochs)
  load <- function(entries, count) {
    out <- lapply(entries, function(e) {
      shape <- as.integer(unlist(e$shape))
      total <- prod(shape) * (if (is.null(count)) 1 else count)
      values <- readBin(file.path(path, e$file), "double", n = total + 1, size = 8, endian = "little")
      if (length(values) != total) {
        stop(sprintf("read_trace: %s holds %d values, expected %d", e$file, length(values), total), call. = FALSE)
      }
      from_row_major(values, shape, count)
    })
    stats::setNames(out, vapply(entries, function(e) e$name, ""))
  }
  numbers <- vapply(index$steps, function(e) if (is.null(e$step)) NA_integer_ else as.integer(e$step), 1L)
  list(
    init = load(index$init, NULL),
    epochs = epochs,
    steps = load(index$steps, length(epochs)),
    history = load(index$history, n_epochs),
    step_numbers = stats::setNames(numbers, vapply(index$steps, function(e) e$name, "")),
    first_epoch = as.integer(index$first_epoch),
    n_epochs = n_epochs,
    meta = list(twin = index$twin, scenario = index$scenario, producer = index$producer)
  )
}
