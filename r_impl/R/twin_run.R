# The R half of the twin protocol (docs/TWINS.md): run any twin's epoch function for a number of
# epochs and keep its intermediates, whatever the twin. Python's half is python_impl/trace.py.

#' Call `fn` with the arguments its formals name, taken from the list `available`
#' @param fn an R function
#' @param available a named list (data, hyper-parameters, state, the variant's arguments)
call_by_name <- function(fn, available) {
  check_arguments(fn, names(available))
  if ("..." %in% names(formals(fn))) return(do.call(fn, available))
  do.call(fn, available[intersect(names(formals(fn)), names(available))])
}

#' Stop, naming them, when `fn` has arguments without defaults that `known` does not provide
#' @param fn an R function
#' @param known the names that will be passed
check_arguments <- function(fn, known) {
  required <- vapply(formals(fn), function(f) identical(f, quote(expr = )), NA)
  missing_args <- setdiff(names(formals(fn))[required], c(known, "..."))
  if (length(missing_args)) {
    stop(sprintf("parameter(s) %s are neither data, hyper-parameters, 'state' nor the variant's arguments (known: %s)",
                 paste(missing_args, collapse = ", "), paste(known, collapse = ", ")), call. = FALSE)
  }
  invisible(TRUE)
}

#' Run a twin's epoch function `epochs` times
#' @param epoch the twin's R epoch function; it returns every intermediate by name
#' @param args named list of what the epoch may take besides `state` (data, hyper-parameters, variant arguments)
#' @param state named list: the state the first epoch starts from
#' @param epochs number of epochs
#' @param record which epochs (R's 1-based loop index) keep every intermediate
#' @param carry names of the intermediates the next epoch starts from (the state)
#' @param history names kept after every epoch
#' @return list(steps, history): steps[[name]] has dim c(dim(name), length(record)),
#'   history[[name]] has dim c(dim(name), epochs); every intermediate is a matrix
twin_run <- function(epoch, args, state, epochs, record = seq_len(epochs), carry = names(state),
                     history = carry) {
  check_arguments(epoch, c(names(args), "state"))
  fixed_args <- args[intersect(names(formals(epoch)), names(args))]
  keep <- logical(epochs)
  keep[record] <- TRUE
  slot <- cumsum(keep)
  steps <- NULL
  kept <- NULL
  for (i in seq_len(epochs)) {
    values <- do.call(epoch, c(fixed_args, list(state = state)))
    if (is.null(steps)) {
      # one array per intermediate, filled in place
      values <- lapply(values, as.matrix)
      steps <- lapply(values, function(v) array(NA_real_, c(dim(v), sum(keep))))
      kept <- lapply(values[history], function(v) array(NA_real_, c(dim(v), epochs)))
    }
    if (keep[i]) for (name in names(steps)) steps[[name]][, , slot[i]] <- values[[name]]
    for (name in history) kept[[name]][, , i] <- values[[name]]
    state <- values[carry]
  }
  list(steps = steps, history = kept)
}
