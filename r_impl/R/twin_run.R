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

#' Run a twin's epoch function `epochs` times, or a twin folder on one of its scenarios
#'
#' Two forms. `twin_run(epoch, args, state, epochs, ...)` runs an R epoch function. `twin_run(folder,
#' scenario, epochs = NULL, record = NULL)` runs a twin folder (one holding `twin.py`, docs/TWINS.md)
#' from a plain R session, without Python: its R files are sourced into an environment of their
#' own whose parent holds this package, the scenario is read from the folder's `scenarios/` (or
#' given as the path of a manifest), and the result, with its epochs counted from 0, its step
#' numbers and its initial matrices, is a trace that [write_trace()] writes and
#' [expect_trace_identical()] compares. See [twin_declaration()] for what is read from `twin.py`.
#'
#' @param epoch the twin's R epoch function, which returns every intermediate by name; or the
#'   path of a twin folder
#' @param args named list of what the epoch may take besides `state` (data, hyper-parameters,
#'   variant arguments); with a folder, the scenario: its name under `scenarios/`, or the path of
#'   its manifest.json
#' @param state named list: the state the first epoch starts from (not given with a folder)
#' @param epochs number of epochs (with a folder: default the scenario's own)
#' @param record which epochs (R's 1-based loop index) keep every intermediate (default: all)
#' @param carry names of the intermediates the next epoch starts from (the state)
#' @param history names kept after every epoch
#' @return list(steps, history, vectors): steps[[name]] has dim c(dim(name), length(record)),
#'   history[[name]] has dim c(dim(name), epochs) (a plain vector as a one-column matrix); vectors
#'   names the intermediates that came without dim. With a folder, also `init`, `epochs` (the
#'   recorded ones, counted from 0), `step_numbers`, `first_epoch` and `meta` (twin, scenario, producer).
#' @examples
#' \dontrun{
#' run <- twin_run("examples/power_iteration", "spd-6", epochs = 10)
#' write_trace(run, "spd-6-r")
#' }
#' @export
twin_run <- function(epoch, args, state, epochs, record = seq_len(epochs), carry = names(state),
                     history = carry) {
  if (is.character(epoch)) {
    return(twin_folder_run(epoch, args, if (missing(epochs)) NULL else epochs,
                           if (missing(record)) NULL else record))
  }
  # each state entry is also passed by its own name: function(X, Y, W, b, lr) as well as function(X, state)
  check_arguments(epoch, c(names(args), names(state), "state"))
  takes <- names(formals(epoch))
  fixed_args <- args[intersect(takes, names(args))]
  own <- intersect(takes, setdiff(names(state), names(args)))
  pass_state <- "state" %in% takes || "..." %in% takes
  keep <- logical(epochs)
  keep[record] <- TRUE
  slot <- cumsum(keep)
  steps <- NULL
  kept <- NULL
  for (i in seq_len(epochs)) {
    values <- if (length(own)) do.call(epoch, c(fixed_args, state[own], if (pass_state) list(state = state)))
              else do.call(epoch, c(fixed_args, list(state = state)))
    if (is.null(steps)) {
      # one array per intermediate, filled in place; a plain vector (rowSums, mean) is read in
      # Python's shape of the same size (bridge/twins/runner.py)
      vectors <- names(values)[vapply(values, function(v) is.null(dim(v)), NA)]
      values <- lapply(values, as.matrix)
      steps <- lapply(values, function(v) array(NA_real_, c(dim(v), sum(keep))))
      kept <- lapply(values[history], function(v) array(NA_real_, c(dim(v), epochs)))
    }
    if (keep[i]) for (name in names(steps)) steps[[name]][, , slot[i]] <- values[[name]]
    for (name in history) kept[[name]][, , i] <- values[[name]]
    state <- values[carry]
  }
  list(steps = steps, history = kept, vectors = vectors)
}

#' What a plain R session reads from a twin's `twin.py`
#'
#' R cannot import the Python declaration, so it reads the literal keyword arguments it needs from
#' the text of `twin.py`: `name="..."`, `RSide(files=(...), epoch="...", start="...")`, `state=(...)`,
#' `history=(...)` and each `Step(number, "name", ...)`. A declaration built otherwise (e.g. with
#' `dataclasses.replace`) is refused with what could not be read.
#' @param folder a folder holding `twin.py`
#' @return a list: `name`, `files` (full paths), `epoch`, `start` (or NULL), `state`, `history`,
#'   `steps` (named integer vector of step numbers, in declared order)
#' @export
twin_declaration <- function(folder) {
  path <- file.path(folder, "twin.py")
  if (!file.exists(path)) stop(sprintf("twin_run: %s holds no twin.py (a twin's folder does)", folder), call. = FALSE)
  text <- paste(readLines(path, warn = FALSE), collapse = "\n")
  strings <- function(x) gsub('"', "", regmatches(x, gregexpr('"[^"]*"', x))[[1]])
  keyword <- function(key, within = text) {
    m <- regmatches(within, regexec(sprintf('\\b%s\\s*=\\s*"([^"]*)"', key), within))[[1]]
    if (length(m)) m[2] else NULL
  }
  sequence <- function(key, within = text) {
    m <- regmatches(within, regexec(sprintf("\\b%s\\s*=\\s*[([]([^])]*)[])]", key), within))[[1]]
    if (length(m)) strings(m[2]) else NULL
  }
  rside <- regmatches(text, regexec("RSide\\(([^)]*(\\([^)]*\\))?[^)]*)\\)", text))[[1]]
  rside <- if (length(rside)) rside[2] else ""
  steps <- regmatches(text, gregexpr('Step\\(\\s*[0-9]+\\s*,\\s*"[^"]+"', text))[[1]]
  out <- list(name = keyword("name"), files = sequence("files", rside), epoch = keyword("epoch", rside),
              start = keyword("start", rside), state = sequence("state"), history = sequence("history"),
              steps = stats::setNames(as.integer(sub("Step\\(\\s*([0-9]+).*", "\\1", steps)),
                                      sub('.*"([^"]+)"$', "\\1", steps)))
  unread <- c(if (is.null(out$name)) "name", if (is.null(out$files)) "RSide(files=...)",
              if (is.null(out$epoch)) "RSide(epoch=...)", if (is.null(out$state)) "state",
              if (!length(out$steps)) "steps")
  if (length(unread)) {
    stop(sprintf(paste("twin_run: %s does not state %s as a literal; write them as keyword arguments of Twin(...)",
                       "and RSide(...) (docs/TWINS.md), or call twin_run(epoch_function, args, state, epochs)"),
                 path, paste(unread, collapse = ", ")), call. = FALSE)
  }
  if (is.null(out$history)) out$history <- character()
  out$files <- file.path(folder, out$files)
  out
}

# a scenario given by name (under the twin's scenarios/) or as the path of its manifest
scenario_path <- function(folder, scenario) {
  if (grepl("\\.json$", scenario)) return(scenario)
  path <- file.path(folder, "scenarios", scenario, "manifest.json")
  if (!file.exists(path)) {
    known <- basename(dirname(Sys.glob(file.path(folder, "scenarios", "*", "manifest.json"))))
    stop(sprintf("twin_run: no scenario '%s' in %s (its scenarios: %s); give its name or the path of a manifest.json",
                 scenario, file.path(folder, "scenarios"),
                 if (length(known)) paste(known, collapse = ", ") else "none"),
         call. = FALSE)
  }
  path
}

# the twin folder's R files, sourced into an environment of their own whose parent is this package
twin_environment <- function(declaration) {
  env <- new.env(parent = environment(twin_run))
  for (f in declaration$files) {
    if (!file.exists(f)) stop(sprintf("twin_run: the twin's R file %s does not exist", f), call. = FALSE)
    sys.source(f, envir = env)
  }
  env
}

twin_folder_run <- function(folder, scenario, epochs = NULL, record = NULL) {
  declaration <- twin_declaration(folder)
  s <- read_scenario(scenario_path(folder, scenario))
  if (!identical(s$preprocessing, "none")) {
    stop(sprintf("twin_run: the scenario's preprocessing '%s' is declared in Python only; run it with crossverify",
                 s$preprocessing), call. = FALSE)
  }
  env <- twin_environment(declaration)
  get_fn <- function(name) {
    if (!exists(name, envir = env, inherits = FALSE)) {
      stop(sprintf("twin_run: the twin's R files define no function '%s'", name), call. = FALSE)
    }
    get(name, envir = env)
  }
  args <- c(s$data, lapply(s$hyper, identity))
  state <- s$init
  if (!is.null(declaration$start)) state <- call_by_name(get_fn(declaration$start), c(args, list(state = state)))
  epochs <- if (is.null(epochs)) s$epochs else as.integer(epochs)
  record <- if (is.null(record)) seq_len(epochs) else record
  run <- twin_run(get_fn(declaration$epoch), args, state, epochs, record, declaration$state,
                  unique(c(declaration$state, declaration$history)))
  run$steps <- run$steps[intersect(names(declaration$steps), names(run$steps))]
  c(run, list(init = s$init, epochs = as.integer(record - 1L), first_epoch = 0L,
              step_numbers = declaration$steps[names(run$steps)],
              meta = list(twin = declaration$name, scenario = s$name,
                          producer = list(language = "R", implementation = "twin_run",
                                          r_version = paste(R.version$major, R.version$minor, sep = ".")))))
}
