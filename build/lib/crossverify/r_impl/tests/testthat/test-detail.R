# Checks of r_impl/R/detail.R on its own, with no Python involved (mirror: tests/test_detail.py).

detail_state <- function(s) list(weights_input_hidden = s$init$weights_input_hidden,
                                 weights_hidden_output = s$init$weights_hidden_output)

# mean error of the R loop's epochs 1..epochs (the article's epochs 0..epochs - 1), no trace kept
detail_mean_errors <- function(X, y, state, lr, epochs) {
  out <- numeric(epochs)
  for (i in seq_len(epochs)) {
    values <- detail_epoch(X, y, state, lr)
    out[i] <- values$mean_error[1, 1]
    state <- values[DETAIL_WEIGHTS]
  }
  out
}

test_that("one epoch returns every intermediate under the notebook's names, as matrices", {
  s <- load_fixture("detail-toy")
  values <- detail_epoch(s$data$X, s$data$y, detail_state(s), s$lr)
  expect_named(values, DETAIL_NAMES)
  expect_true(all(vapply(values, function(v) is.double(v) && length(dim(v)) == 2, NA)))
  expect_equal(dim(values$hiddenLayer_linearTransform), c(3L, 3L))
  expect_equal(dim(values$output), c(1L, 3L))
  expect_equal(dim(values$mean_error), c(1L, 1L))
})

test_that("the chain-rule links have the shapes the article prints for the toy data", {
  s <- load_fixture("detail-toy")
  values <- detail_epoch(s$data$X, s$data$y, detail_state(s), s$lr)
  expect_equal(dim(values$error_wrt_output), c(1L, 3L))
  expect_equal(dim(values$output_wrt_outputLayer_LinearTransform), c(1L, 3L))
  expect_equal(dim(values$outputLayer_LinearTransform_wrt_hiddenLayer_activations), c(3L, 1L))
  expect_equal(dim(values$hiddenLayer_activations_wrt_hiddenLayer_linearTransform), c(3L, 3L))
  expect_equal(dim(values$hiddenLayer_linearTransform_wrt_weights_input_hidden), c(4L, 3L))
  # each gradient has its weight's shape, so the update is elementwise
  expect_equal(dim(values$error_wrt_weights_hidden_output), dim(s$init$weights_hidden_output))
  expect_equal(dim(values$error_wrt_weights_input_hidden), dim(s$init$weights_input_hidden))
})

test_that("the untrained toy network's error is the article's to 8 decimals", {
  s <- load_fixture("detail-toy")
  values <- detail_epoch(s$data$X, s$data$y, detail_state(s), s$lr)
  expect_identical(round(as.vector(values$error), 8), c(0.05013458, 0.03727248, 0.25388062))
})

test_that("the gradients are the derivatives of the summed error", {
  s <- load_fixture("detail-toy")
  X <- s$data$X; y <- s$data$y; state <- detail_state(s)
  loss <- function(wih, who) sum((y - sigmoid(t(who) %*% sigmoid(t(wih) %*% X)))^2 / 2)
  values <- detail_epoch(X, y, state, s$lr)
  step <- 1e-6
  central <- function(w, bump) {
    vapply(seq_along(w), function(k) {
      e <- replace(numeric(length(w)), k, step)
      (bump(w + e) - bump(w - e)) / (2 * step)
    }, 0)
  }
  who <- state$weights_hidden_output; wih <- state$weights_input_hidden
  expect_equal(as.vector(values$error_wrt_weights_hidden_output),
               central(who, function(w) loss(wih, matrix(w, nrow(who)))), tolerance = 1e-6)
  expect_equal(as.vector(values$error_wrt_weights_input_hidden),
               central(wih, function(w) loss(matrix(w, nrow(wih)), who)), tolerance = 1e-6)
})

test_that("the update steps each weight against its gradient by the learning rate", {
  s <- load_fixture("detail-toy")
  state <- detail_state(s)
  values <- detail_epoch(s$data$X, s$data$y, state, s$lr)
  expect_same_bits(values$weights_hidden_output,
                   state$weights_hidden_output - s$lr * values$error_wrt_weights_hidden_output, "weights_hidden_output")
  expect_same_bits(values$weights_input_hidden,
                   state$weights_input_hidden - s$lr * values$error_wrt_weights_input_hidden, "weights_input_hidden")
})

test_that("training keeps every epoch's intermediates, each epoch starting from the last one's weights", {
  s <- load_fixture("detail-toy")
  trace <- detail_train(s$data$X, s$data$y, s$init$weights_input_hidden, s$init$weights_hidden_output, s$lr, 5)
  expect_named(trace, c("init", "start", "steps", "history"))
  expect_named(trace$steps, DETAIL_NAMES)
  expect_named(trace$history, DETAIL_HISTORY)
  expect_same_bits(trace$history$weights_input_hidden[, , 5], trace$steps$weights_input_hidden[, , 5], "history")
  expect_equal(dim(trace$steps$error_wrt_weights_input_hidden), c(4L, 3L, 5L))
  expect_equal(dim(trace$steps$mean_error), c(1L, 1L, 5L))
  at <- function(name, i) matrix(trace$steps[[name]][, , i], nrow = dim(trace$steps[[name]])[1])
  state <- list(weights_input_hidden = at("weights_input_hidden", 3),
                weights_hidden_output = at("weights_hidden_output", 3))
  again <- detail_epoch(s$data$X, s$data$y, state, s$lr)
  for (name in DETAIL_NAMES) {
    expect_same_bits(at(name, 4), again[[name]], name)
  }
})

test_that("record keeps every intermediate at the chosen epochs only, the history at every epoch", {
  s <- load_fixture("detail-toy")
  all <- detail_train(s$data$X, s$data$y, s$init$weights_input_hidden, s$init$weights_hidden_output, s$lr, 6)
  some <- detail_train(s$data$X, s$data$y, s$init$weights_input_hidden, s$init$weights_hidden_output, s$lr, 6,
                       record = c(2, 5))
  expect_equal(dim(some$steps$hiddenLayer_activations), c(3L, 3L, 2L))
  expect_same_bits(some$steps$error_wrt_output[, , 2], all$steps$error_wrt_output[, , 5], "epoch 5")
  expect_same_bits(some$history$mean_error, all$history$mean_error, "mean_error")
})

test_that("the toy error falls over the article's 1000 epochs", {
  s <- load_fixture("detail-toy")
  errors <- detail_mean_errors(s$data$X, s$data$y, detail_state(s), s$lr, s$epochs)
  expect_lt(errors[s$epochs], errors[1])
  expect_true(all(diff(errors) < 0))
})

test_that("normalising the moons scales the whole array into [0, 1] and puts samples in columns", {
  s <- load_fixture("detail-moons")
  X <- detail_normalise(s$data$X)
  expect_equal(dim(X), c(2L, 1000L))
  expect_identical(min(X), 0)
  expect_identical(max(X), 1)
  # one shift and one scale for both features, not one per feature
  expect_equal(X[, 1], (s$data$X[1, ] - min(s$data$X)) / (max(s$data$X) - min(s$data$X)))
})

test_that("moons mean error matches the article to 5 decimals at epochs 0 to 6000", {
  s <- load_fixture("detail-moons")
  errors <- detail_mean_errors(detail_normalise(s$data$X), s$data$y, detail_state(s), s$lr, 6001)
  printed <- c("0.23478", "0.25000", "0.25000", "0.25000", "0.05129", "0.02163", "0.01157")
  # the article's epoch e is the R loop's epoch e + 1
  expect_identical(sprintf("%.5f", errors[seq(0, 6000, 1000) + 1]), printed)
})
