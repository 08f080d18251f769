# Where the project's fixtures are: $CROSSVERIFY_FIXTURES, or fixtures/ beside r_impl/ when the
# tests run from the source tree.
fixtures_dir <- function() {
  dir <- Sys.getenv("CROSSVERIFY_FIXTURES", "")
  if (!nzchar(dir)) dir <- normalizePath(file.path(testthat::test_path(), "..", "..", "..", "fixtures"), mustWork = FALSE)
  dir
}

load_fixture <- function(name) {
  path <- file.path(fixtures_dir(), name, "manifest.json")
  testthat::skip_if_not(file.exists(path), paste("fixture not found (set CROSSVERIFY_FIXTURES):", path))
  read_scenario(path)
}

#' Bits of two doubles are equal: identical(a, b) after matching dims, reported per element
#' rule: for every element i, bits(actual[i]) == bits(expected[i]) (NaN payloads aside)
expect_same_bits <- function(actual, expected, label = "") {
  differs <- which(!(actual == expected & (actual != 0 | (1 / actual == 1 / expected))) & !(is.na(actual) & is.na(expected)))
  testthat::expect(length(differs) == 0, sprintf(
    "%s: %d elements differ; first at index %d: %s vs %s", label, length(differs), differs[1],
    sprintf("%a", actual[differs[1]]), sprintf("%a", expected[differs[1]])))
  invisible(actual)
}

train_fixture <- function(s, variant, epochs = s$epochs) {
  bias_net_train(s$data$X, s$data$y, s$init$wh, s$init$bh, s$init$wout, s$init$bout, s$lr, epochs, variant)
}
