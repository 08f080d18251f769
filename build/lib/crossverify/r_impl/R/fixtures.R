# Scenario fixtures (fixtures/README.md): JSON manifests whose floats are C99 hex text, which
# as.numeric() reads exactly; decimal text is not exact across languages (docs/FACTS.md section 6).
# Read it beside bridge/twins/scenarios.py.

HEX_FLOAT <- "^[+-]?0x[0-9a-fA-F]+(\\.[0-9a-fA-F]*)?p[+-]?[0-9]+$"

#' Numbers from C99 hex text, with an error naming the field when one is not
#' @param text character vector
#' @param where the field's name, for the error message
hex_number <- function(text, where = "value") {
  text <- unlist(text)
  ok <- is.character(text) & grepl(HEX_FLOAT, text)
  if (length(text) == 0 || !all(ok)) {
    bad <- if (length(text) == 0) "nothing" else sQuote(text[!ok][1], FALSE)
    stop(sprintf("field '%s': %s is not a C99 hex float such as '0x1.8p+1'", where, bad), call. = FALSE)
  }
  value <- as.numeric(text)
  if (!all(is.finite(value))) stop(sprintf("field '%s': a value is not finite", where), call. = FALSE)
  value
}

#' A matrix stored as list(shape = c(r, c), values = rows of hex text)
#' @param obj the parsed JSON object
#' @param where the field's name, for error messages
hex_matrix <- function(obj, where = "matrix") {
  shape <- as.integer(unlist(obj$shape))
  if (length(shape) != 2 || any(is.na(shape)) || any(shape < 1)) {
    stop(sprintf("field '%s.shape': not [rows, columns]", where), call. = FALSE)
  }
  rows <- obj$values
  if (length(rows) != shape[1] || any(lengths(rows) != shape[2])) {
    stop(sprintf("field '%s.values': does not hold %d rows of %d", where, shape[1], shape[2]), call. = FALSE)
  }
  # the file lists rows in order; R fills columns first unless told byrow = TRUE
  matrix(hex_number(unlist(rows), paste0(where, ".values")), nrow = shape[1], ncol = shape[2], byrow = TRUE)
}

#' Read and check one scenario manifest
#'
#' Reads the manifests `crossverify scenario new` writes (the twin named in `twin`) and the shipped
#' ones (`network`), as bridge/twins/scenarios.py does; `lr` is also returned on its own (NULL for a twin without one).
#' @param path path to a manifest.json
#' @return a list: `name`, `twin` (the twin the manifest names; `network` is the same, its older
#'   name), `twin_folder` (or NULL), `preprocessing` ("none" unless stated), `hyper` (named list of
#'   the hyper-parameters stored as hex floats), `lr` (NULL when the twin has none), `epochs`,
#'   `data` and `init` (named lists of matrices).
read_scenario <- function(path) {
  manifest <- jsonlite::fromJSON(path, simplifyVector = FALSE)
  need <- function(obj, key, where) {
    if (is.null(obj[[key]])) stop(sprintf("%s: field '%s%s' is missing", path, where, key), call. = FALSE)
    obj[[key]]
  }
  if (is.null(manifest$twin) && is.null(manifest$network)) {
    stop(sprintf("%s: field 'twin' is missing (older manifests name it 'network')", path), call. = FALSE)
  }
  hyper <- need(manifest, "hyper_parameters", "")
  data <- need(manifest, "data", "")
  init <- need(manifest, "init", "")
  twin <- if (is.null(manifest$twin)) need(manifest, "network", "") else manifest$twin
  # the hyper-parameters are the hex floats; epochs and the descriptive keys are not
  stored <- Filter(function(v) is.character(v) && length(v) == 1 && grepl(HEX_FLOAT, v), hyper)
  values <- lapply(stats::setNames(nm = names(stored)),
                   function(k) hex_number(stored[[k]], paste0("hyper_parameters.", k)))
  list(
    name = manifest$name,
    twin = twin,
    network = twin,
    twin_folder = manifest$twin_folder,
    preprocessing = if (is.null(manifest$preprocessing)) "none" else manifest$preprocessing,
    hyper = values,
    lr = values$lr,
    epochs = as.integer(need(hyper, "epochs", "hyper_parameters.")),
    data = lapply(stats::setNames(nm = names(data)), function(k) hex_matrix(data[[k]], paste0("data.", k))),
    init = lapply(stats::setNames(nm = names(init)), function(k) hex_matrix(init[[k]], paste0("init.", k)))
  )
}
