# Checks of questions.R on its own, with no Python involved (the readers' experiments; mirror:
# tests/test_questions.py, which compares them with Python's bit for bit). Run by testthat from
# tests/test_questions.py with the package installed; questions.R is sourced here, beside the tests.
sys.source("questions.R", envir = environment())

bias_state <- function(s) list(wh = s$init$wh, bh = matrix(s$init$bh, nrow = 1),
                               wout = s$init$wout, bout = matrix(s$init$bout, nrow = 1))

test_that("question_epoch with no change is the corrected bias network's epoch", {
  s <- load_fixture("bias-net")
  start <- bias_net_start(s$data$X, bias_state(s), "corrected")
  expect_identical(question_epoch(s$data$X, s$data$y, start, s$lr),
                   bias_net_epoch(s$data$X, s$data$y, start, s$lr, "corrected"))
})

test_that("the learning rate in step 7 scales the output delta by lr", {
  s <- load_fixture("bias-net")
  start <- bias_net_start(s$data$X, bias_state(s), "corrected")
  kept <- question_epoch(s$data$X, s$data$y, start, s$lr, lr_in_delta = TRUE)
  plain <- question_epoch(s$data$X, s$data$y, start, s$lr)
  expect_identical(kept$d_output, plain$d_output * s$lr)
})

test_that("central differences of the sigmoid agree with x * (1 - x) of its output, not of its input", {
  u <- matrix(c(-2, 1.3, 3), ncol = 1)
  fd <- sigmoid_slope_fd(u, 2^-20)
  expect_equal(fd, derivatives_sigmoid(sigmoid(u)), tolerance = 1e-9)
  expect_true(all(abs(fd - derivatives_sigmoid(u)) > 0.1))
})

test_that("fd_gradient of the summed error matches the detail network's step 14", {
  s <- load_fixture("detail-toy")
  state <- list(weights_input_hidden = s$init$weights_input_hidden,
                weights_hidden_output = s$init$weights_hidden_output)
  fd <- fd_gradient(total_error(detail_predict, s$data$X, s$data$y), state, "weights_input_hidden", 2^-20)
  step14 <- detail_epoch(s$data$X, s$data$y, state, s$lr)$error_wrt_weights_input_hidden
  expect_equal(fd, step14, tolerance = 1e-8)
})

test_that("descend one sample at a time makes one update per sample and lowers the error", {
  s <- load_fixture("bias-net")
  sgd <- descend(bias_net_epoch, per_neuron_predict, s$data$X, s$data$y, bias_state(s), s$lr, 20, by = 1)
  expect_length(sgd$loss, 21)
  expect_lt(sgd$loss[21], sgd$loss[1])
  one <- bias_state(s)
  for (i in 1:3) one <- bias_net_epoch(s$data$X[i, , drop = FALSE], s$data$y[i, , drop = FALSE], one, s$lr)[names(one)]
  first <- descend(bias_net_epoch, per_neuron_predict, s$data$X, s$data$y, bias_state(s), s$lr, 1, by = 1)
  expect_identical(first$state, one)
})
