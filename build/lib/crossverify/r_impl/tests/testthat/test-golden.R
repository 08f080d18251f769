# The R side of the golden regression traces (fixtures/golden/README.md), checked natively:
# R's own trace of every variant against the record's md5 digests, with no Python involved.
# Mirror: tests/test_golden.py. Base R has md5 (tools::md5sum, on a file) but not sha256, so
# the record stores both and this side checks the md5 of the same bytes.

# md5 of a matrix's bytes as the record digests them: float64, little-endian, row-major
golden_md5 <- function(m) {
  path <- tempfile(fileext = ".bin")
  on.exit(unlink(path))
  con <- file(path, "wb")
  writeBin(as.vector(t(m)), con, endian = "little")  # t(): R stores columns first, the record rows
  close(con)
  unname(tools::md5sum(path))
}

load_golden <- function(name) {
  path <- file.path(fixtures_dir(), "golden", paste0(name, ".json"))
  testthat::skip_if_not(file.exists(path), paste("golden record not found (set CROSSVERIFY_FIXTURES):", path))
  jsonlite::fromJSON(path, simplifyVector = TRUE)
}

# the intermediate `name` at the article's epoch `epoch` (R's loop index epoch + 1), as a matrix
epoch_matrix <- function(trace, name, epoch) {
  a <- trace$steps[[name]]
  matrix(a[, , epoch + 1], nrow = dim(a)[1], ncol = dim(a)[2])
}

# the first entry of `entries` (a data frame: epoch, step, name, shape, md5) that `trace` no
# longer reproduces, described; NA when every one matches
first_changed <- function(entries, trace) {
  for (k in seq_len(nrow(entries))) {
    m <- epoch_matrix(trace, entries$name[k], entries$epoch[k])
    shape <- unlist(entries$shape[k])
    if (!identical(as.integer(dim(m)), as.integer(shape)) || golden_md5(m) != entries$md5[k]) {
      return(sprintf("epoch %d, step %d, %s (md5 %s recorded, now %s)", entries$epoch[k], entries$step[k],
                     entries$name[k], entries$md5[k], golden_md5(m)))
    }
  }
  NA_character_
}

test_that("the digested bytes are little-endian float64 in row order, as Python writes them", {
  # the md5 Python's hashlib gives np.array([[1, 2], [3, -0.0], [0.1, 2^-1074]]).astype("<f8").tobytes()
  m <- matrix(c(1, 2, 3, -0, 0.1, 2^-1074), nrow = 3, byrow = TRUE)
  expect_identical(golden_md5(m), "17f71074e3590a83170b60751916b5da")
})

test_that("the bias-net inputs are the ones the golden record was made from", {
  s <- load_fixture("bias-net")
  g <- load_golden("bias-net")
  path <- tempfile(fileext = ".bin")
  on.exit(unlink(path))
  con <- file(path, "wb")
  for (m in list(s$data$X, s$data$y, s$init$wh, s$init$bh, s$init$wout, s$init$bout)) {
    writeBin(as.vector(t(m)), con, endian = "little")
  }
  writeBin(s$lr, con, endian = "little")
  close(con)
  expect_identical(unname(tools::md5sum(path)), g$inputs$md5)
})

test_that("R reproduces every golden digest of every variant at every recorded epoch", {
  s <- load_fixture("bias-net")
  g <- load_golden("bias-net")
  expect_setequal(names(g$traces), names(VARIANTS))
  for (variant in names(g$traces)) {
    entries <- g$traces[[variant]]$r
    expect_equal(nrow(entries), length(g$epochs) * length(BIAS_NET_NAMES))
    trace <- train_fixture(s, variant, epochs = max(g$epochs) + 1)
    changed <- first_changed(entries, trace)
    expect(is.na(changed), sprintf("variant %s: first changed digest at %s", variant, changed))
  }
})

test_that("the golden record's R and Python digests are the same bytes for every variant", {
  g <- load_golden("bias-net")
  for (variant in names(g$traces)) {
    expect_identical(g$traces[[variant]]$r$md5, g$traces[[variant]]$python$md5, label = variant)
  }
})

test_that("a one-ulp change to one element changes the digest", {
  m <- matrix(c(0.25, 0.5, 0.75, 1), 2)
  nudged <- m
  nudged[2, 1] <- nudged[2, 1] * (1 + .Machine$double.eps)
  expect_false(identical(golden_md5(m), golden_md5(nudged)))
})
