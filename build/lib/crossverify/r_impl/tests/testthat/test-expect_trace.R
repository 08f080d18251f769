# Checks of r_impl/R/expect_trace.R: the testthat expectations over crossverify-trace/1 traces and
# the ULP distance they report, and of twin_run() on a twin folder. python-trace-spd-6/ beside
# this file was written by Python (`crossverify trace --fixtures examples/power_iteration/scenarios
# --scenario spd-6 --impl python --kernels exact --epochs 5 --format folder`); tests/test_r_package.py
# checks that Python still writes exactly those bits.

PYTHON_TRACE <- testthat::test_path("python-trace-spd-6")

# 2 epochs of a 2 x 3 intermediate z (step 3) and a 1 x 1 one, whose values tell where they are
toy_trace <- function() {
  z <- array(0, c(2, 3, 2))
  for (k in 1:2) for (i in 1:2) for (j in 1:3) z[i, j, k] <- 100 * (k - 1) + 10 * i + j + 0.1
  list(steps = list(z = z, s = array(c(0.5, 0.25), c(1, 1, 2))), history = list(s = array(c(0.5, 0.25), c(1, 1, 2))),
       init = list(w = matrix(c(1.5, 2.5), 1, 2)), epochs = 0:1, step_numbers = c(z = 3L, s = 4L))
}

# the next double above x, counted `n` times (x > 0)
ulps_up <- function(x, n = 1) {
  for (i in seq_len(n)) x <- x + 2^(floor(log2(x)) - 52)
  x
}

python_power_iteration <- function() {
  folder <- file.path(dirname(fixtures_dir()), "examples", "power_iteration")
  testthat::skip_if_not(dir.exists(folder), paste("examples/power_iteration not found beside", fixtures_dir()))
  folder
}

test_that("ulp_distance counts the doubles between two values, through zero, and calls a NaN pair Inf", {
  expect_identical(ulp_distance(1, ulps_up(1)), 1)
  expect_identical(ulp_distance(ulps_up(0.3, 7), 0.3), 7)
  expect_identical(ulp_distance(0, -0), 0)
  expect_identical(ulp_distance(2^-1074, -2^-1074), 2)  # the smallest subnormals, across zero
  expect_identical(ulp_distance(.Machine$double.xmax, Inf), 1)
  expect_identical(ulp_distance(c(NaN, NaN, 1), c(NaN, 1, NA)), c(0, Inf, Inf))
})

test_that("a trace is bit-identical to itself and to its copy on disk", {
  tr <- toy_trace()
  path <- file.path(tempdir(), "expect-identical")
  write_trace(tr, path)
  expect_success(expect_trace_identical(tr, tr))
  expect_success(expect_trace_identical(path, tr))
  expect_success(expect_trace_within(tr, path, ulps = 0))
})

test_that("one element one ULP off fails, naming epoch, step, intermediate, element, both values in hex and 1 ULP", {
  ref <- toy_trace()
  act <- ref
  act$steps$z[2, 3, 2] <- ulps_up(ref$steps$z[2, 3, 2])
  both <- c(act$steps$z[2, 3, 2], ref$steps$z[2, 3, 2])
  expect_failure(expect_trace_identical(act, ref),
                 "epoch 1, step 3, intermediate 'z', element [1, 2] (R's [2, 3])", fixed = TRUE)
  expect_failure(expect_trace_identical(act, ref), sprintf("actual    %.17g (%a)", both[1], both[1]), fixed = TRUE)
  expect_failure(expect_trace_identical(act, ref), sprintf("reference %.17g (%a)", both[2], both[2]), fixed = TRUE)
  expect_identical(diff(both), -2^-46)  # the two values printed are one ULP apart
  expect_failure(expect_trace_identical(act, ref), "1 ULP apart")
  expect_success(expect_trace_within(act, ref, ulps = 1))
  act$steps$z[2, 3, 2] <- ulps_up(ref$steps$z[2, 3, 2], 5)
  expect_success(expect_trace_within(act, ref, ulps = 5))
  expect_failure(expect_trace_within(act, ref, ulps = 4), "is not within 4 ULPs of ref: first divergence at epoch 1")
  expect_failure(expect_trace_within(act, ref, ulps = 4), "5 ULPs apart")
})

test_that("the earliest epoch is reported first, then the step computed first", {
  ref <- toy_trace()
  act <- ref
  act$steps$z[1, 1, 2] <- -act$steps$z[1, 1, 2]
  act$steps$s[1, 1, 1] <- 0.75
  expect_failure(expect_trace_identical(act, ref), "epoch 0, step 4, intermediate 's', element \\[0, 0\\]")
  act$init$w[1, 2] <- 2.75
  expect_failure(expect_trace_identical(act, ref), "the initial matrix 'w', element \\[0, 1\\]")
})

test_that("-0 against 0 is not identical but 0 ULPs apart, and a NaN matches only the same NaN", {
  ref <- toy_trace()
  ref$steps$s[1, 1, 1] <- 0
  act <- ref
  act$steps$s[1, 1, 1] <- -0
  expect_failure(expect_trace_identical(act, ref), "-0 (-0x0p+0)", fixed = TRUE)
  expect_failure(expect_trace_identical(act, ref), "0 ULPs apart")
  expect_success(expect_trace_within(act, ref, ulps = 0))
  act$steps$s[1, 1, 1] <- NaN
  expect_failure(expect_trace_within(act, ref, ulps = 4), "not comparable in ULPs \\(a NaN\\)")
  ref$steps$s[1, 1, 1] <- NaN
  expect_success(expect_trace_within(act, ref))
})

test_that("traces that do not hold the same intermediates or epochs say so instead of comparing", {
  ref <- toy_trace()
  act <- ref
  act$steps$s <- NULL
  act$step_numbers <- act$step_numbers["z"]
  expect_failure(expect_trace_identical(act, ref), "the actual trace has no steps 's'")
  act <- ref
  act$epochs <- c(0L, 2L)
  expect_failure(expect_trace_identical(act, ref), "record different epochs: actual 0, 2, reference 0, 1")
  expect_error(expect_trace_within(ref, ref, ulps = -1), "ulps must be one number, 0 or more")
})

test_that("a row R stores once per sample is compared against the row the other side stores once", {
  ref <- toy_trace()
  ref$init$w <- matrix(c(1.5, 2.5), 1, 2)
  act <- ref
  act$init$w <- matrix(c(1.5, 2.5), 3, 2, byrow = TRUE)
  expect_success(expect_trace_identical(act, ref))
  act$init$w[3, 2] <- 2.25
  expect_failure(expect_trace_identical(act, ref), "the initial matrix 'w', element \\[2, 1\\]")
})

test_that("twin_run reads a twin folder's declaration and runs its scenario from plain R", {
  folder <- python_power_iteration()
  d <- twin_declaration(folder)
  expect_identical(d$name, "power_iteration")
  expect_identical(d$epoch, "iterate")
  expect_identical(d$state, "v")
  expect_identical(d$steps, c(Av = 1L, norm = 2L, v = 3L, rayleigh = 4L, change = 5L))
  run <- twin_run(folder, "spd-6", epochs = 3)
  expect_identical(run$epochs, 0:2)
  expect_identical(names(run$steps), names(d$steps))
  expect_identical(dim(run$steps$v), c(6L, 1L, 3L))
  expect_identical(run$meta$twin, "power_iteration")
  expect_error(twin_run(folder, "spd-7"), "no scenario 'spd-7' .*its scenarios: spd-6")
  expect_error(twin_run(tempdir(), "spd-6"), "holds no twin.py")
})

test_that("R's run of the power iteration is bit-identical to the trace Python wrote", {
  folder <- python_power_iteration()
  # the trace's exact kernels sum A %*% v as the reference BLAS does; an optimised BLAS sums otherwise
  blas <- extSoftVersion()[["BLAS"]]
  skip_if(grepl("openblas|blis|mkl|atlas", tolower(blas)), paste("R's BLAS is", blas, "not the reference BLAS"))
  run <- twin_run(folder, "spd-6", epochs = 5)
  expect_success(expect_trace_identical(run, PYTHON_TRACE))
  expect_success(expect_trace_within(run, PYTHON_TRACE, ulps = 4))
  python <- read_trace(PYTHON_TRACE)
  expect_identical(python$meta$producer$language, "python")
  python$steps$rayleigh[1, 1, 4] <- ulps_up(python$steps$rayleigh[1, 1, 4])
  expect_failure(expect_trace_identical(run, python),
                 "epoch 3, step 4, intermediate 'rayleigh', element \\[0, 0\\].*\n.*\n.*\n +1 ULP apart")
})
