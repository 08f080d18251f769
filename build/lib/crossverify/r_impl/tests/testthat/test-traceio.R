# Checks of r_impl/R/traceio.R, the R half of crossverify-trace/1 (docs/TRACES.md); its Python half
# reads these files in tests/test_compare.py.

small_trace <- function() {
  # 2 epochs of a 2x3 intermediate whose values tell where they belong: 100 epoch + 10 row + col
  a <- array(0, c(2, 3, 2))
  for (k in 1:2) for (i in 1:2) for (j in 1:3) a[i, j, k] <- 100 * (k - 1) + 10 * i + j
  list(steps = list(z = a), history = list(z = a), init = list(w = matrix(c(1.5, -0, 2^-1074, NaN), 2, 2)))
}

test_that("a trace written by write_trace reads back bit for bit, with epochs counted from 0", {
  path <- file.path(tempdir(), "trace-roundtrip")
  tr <- small_trace()
  write_trace(tr, path, step_numbers = c(z = 3L), meta = list(twin = "toy"))
  back <- read_trace(path)
  expect_identical(back$steps$z, tr$steps$z)
  expect_identical(back$history$z, tr$history$z)
  expect_same_bits(back$init$w, tr$init$w, "init w")
  expect_identical(1 / back$init$w[2, 1], -Inf)  # the sign of zero survives
  expect_identical(back$epochs, 0:1)
  expect_identical(back$step_numbers, c(z = 3L))
  expect_identical(back$meta$twin, "toy")
})

test_that("the .bin files hold little-endian doubles in row-major order, epochs one after another", {
  path <- file.path(tempdir(), "trace-layout")
  write_trace(small_trace(), path)
  values <- readBin(file.path(path, "steps-z.bin"), "double", n = 100, size = 8, endian = "little")
  expect_identical(values, c(11, 12, 13, 21, 22, 23, 111, 112, 113, 121, 122, 123))
  raw <- readBin(file.path(path, "steps-z.bin"), "raw", n = 8)
  expect_identical(raw, writeBin(11, raw(), size = 8, endian = "little"))
  index <- jsonlite::fromJSON(file.path(path, "index.json"), simplifyVector = FALSE)
  expect_identical(index$format, "crossverify-trace/1")
  expect_identical(unlist(index$steps[[1]]$shape), c(2L, 3L))
  expect_null(index$steps[[1]]$step)
})

test_that("a trace of the bias-net's R run is written with plain R and read back", {
  s <- load_fixture("bias-net")
  state <- bias_net_start(s$data$X, s$init, "corrected")
  run <- twin_run(bias_net_epoch, c(s$data, list(lr = s$lr, variant = "corrected")), state, 3)
  path <- file.path(tempdir(), "trace-bias-net")
  write_trace(run, path, init = s$init, meta = list(twin = "bias_net", scenario = "bias-net"))
  back <- read_trace(path)
  expect_identical(names(back$steps), BIAS_NET_NAMES)
  expect_identical(back$steps$wh, run$steps$wh)
  expect_identical(back$init$wh, s$init$wh)
  expect_identical(dim(back$history$bh), c(3L, 3L, 3L))
})

test_that("a folder that is not a trace is neither read nor overwritten", {
  path <- file.path(tempdir(), "not-a-trace")
  dir.create(path, showWarnings = FALSE)
  writeLines("keep me", file.path(path, "notes.txt"))
  expect_error(read_trace(path), "holds no index.json")
  expect_error(write_trace(small_trace(), path), "is not a trace folder; nothing was written")
  expect_identical(readLines(file.path(path, "notes.txt")), "keep me")
  expect_error(write_trace(list(steps = list(z = matrix(1, 2, 2))), file.path(tempdir(), "t2")),
               "must be an array c\\(rows, cols, epochs\\)")
})
