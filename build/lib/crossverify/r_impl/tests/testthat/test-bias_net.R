# Checks of r_impl/R/bias_net.R on its own, with no Python involved (mirror: tests/test_bias_net.py).

test_that("one epoch returns every intermediate with the article's shapes", {
  s <- load_fixture("bias-net")
  n <- nrow(s$data$X)
  state <- list(wh = s$init$wh, bh = spread_bias(s$init$bh, n, "by-neuron"),
                wout = s$init$wout, bout = spread_bias(s$init$bout, n, "by-neuron"))
  values <- bias_net_epoch(s$data$X, s$data$y, state, s$lr, "corrected")
  expect_named(values, BIAS_NET_NAMES)
  expect_equal(dim(values$hidden_layer_input), c(3L, 3L))
  expect_equal(dim(values$output), c(3L, 1L))
  expect_equal(dim(values$Error_at_hidden_layer), c(3L, 3L))
  expect_equal(dim(values$wh), c(4L, 3L))
  expect_equal(dim(values$wout), c(3L, 1L))
  expect_true(all(vapply(values, is.double, NA)))
})

test_that("the article's byrow = FALSE layout gives one bias per sample, not per neuron", {
  b <- c(0.1, 0.2, 0.3)
  article <- spread_bias(b, 3, "by-sample")
  expect_equal(article[, 1], b)          # bh[i, j] = b[i]: sample i's bias
  expect_equal(article[1, ], rep(0.1, 3))
  corrected <- spread_bias(b, 3, "by-neuron")
  expect_equal(corrected[1, ], b)        # bh[i, j] = b[j]: neuron j's bias
  # with 4 samples the article's layout scrambles the biases instead of failing
  expect_equal(spread_bias(b, 4, "by-sample")[, 2], c(0.2, 0.3, 0.1, 0.2))
})

test_that("rowSums update is the per-sample bias gradient", {
  s <- load_fixture("bias-net")
  X <- s$data$X; y <- s$data$y
  bias_per_sample <- c(0.3, -0.2, 0.5)
  loss <- function(b) {
    bh <- matrix(b, nrow = 3, ncol = 3)  # bh[i, j] = b[i], the article's layout
    h <- sigmoid(X %*% s$init$wh + bh)
    out <- sigmoid(h %*% s$init$wout + s$init$bout[1])
    sum((y - out)^2) / 2
  }
  state <- list(wh = s$init$wh, bh = matrix(bias_per_sample, 3, 3),
                wout = s$init$wout, bout = matrix(s$init$bout[1], 3, 1))
  values <- bias_net_epoch(X, y, state, s$lr, "article")
  # dL/db_i by central differences; the article's update adds -dL/db_i * lr
  step <- 1e-6
  numeric <- vapply(1:3, function(i) {
    e <- replace(numeric(3), i, step)
    (loss(bias_per_sample + e) - loss(bias_per_sample - e)) / (2 * step)
  }, 0)
  expect_equal(rowSums(values$d_hiddenlayer), -numeric, tolerance = 1e-6)
})

test_that("colSums spread in the article's layout is the commenter's recycled colSums", {
  d <- matrix(c(0.5, -1.25, 2, 0.75, 3.5, -0.125, 1, 2, 4), 3, 3)
  bh <- spread_bias(c(0.1, 0.2, 0.3), 3, "by-sample")
  ours <- update_biases(bh, matrix(0, 3, 1), matrix(1, 3, 1), d, 0.1, "by-sample", "colSums")$bh
  commenter <- bh + colSums(d) * 0.1
  expect_same_bits(ours, commenter, "bh")
})

test_that("the corrected variant keeps one bias per neuron for every sample", {
  s <- load_fixture("bias-net")
  trace <- train_fixture(s, "corrected", epochs = 50)
  bh <- trace$steps$bh[, , 50]
  expect_same_bits(bh[2, ], bh[1, ], "bh row 2")
  expect_same_bits(bh[3, ], bh[1, ], "bh row 3")
})

test_that("the article's variant parts from the corrected one at step 2 of the first epoch", {
  s <- load_fixture("bias-net")
  article <- train_fixture(s, "article", epochs = 1)
  corrected <- train_fixture(s, "corrected", epochs = 1)
  hli_a <- article$steps$hidden_layer_input[, , 1]
  hli_c <- corrected$steps$hidden_layer_input[, , 1]
  expect_equal(diag(hli_a), diag(hli_c))  # bh[i, i] is the same bias in both layouts
  expect_false(isTRUE(all.equal(hli_a, hli_c)))
})

test_that("trained bias-net output is two values near 1 and one near 0, as the article's", {
  s <- load_fixture("bias-net")
  trace <- train_fixture(s, "corrected")
  output <- trace$steps$output[, , s$epochs]
  expect_length(output, 3)
  expect_true(all(output[1:2] > 0.95))
  expect_true(output[3] < 0.05)
})

test_that("unknown variants are refused with the list of known ones", {
  expect_error(variant_switches("colsums"), "unknown variant 'colsums': choose one of article, corrected")
})
