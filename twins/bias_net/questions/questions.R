# The readers' questions in the article's comment section, answered by computation
# (docs/QUESTIONS.md; Python's half: altered.py, which reads line for line beside this file).
# Sourced into an environment inside the R package's, so the package's steps are in reach. Each function here is an experiment a reader proposed or a check of an
# answer: the bias network with the sigmoid's slope taken of the wrong matrix or the learning rate
# applied twice, stochastic gradient descent (one sample at a time), and finite differences.
# The networks' own steps are bias_net.R's and detail.R's; nothing here changes them.

#' One epoch of the bias network with one of two readers' changes (per-neuron biases, column sums)
#' @param X,y inputs (one sample per row) and targets
#' @param state list of wh, bh, wout, bout, the biases laid out one row per sample
#' @param lr learning rate
#' @param slope_of "activation": step 6 as the article, x * (1 - x) of the sigmoid's output;
#'   "input": of the linear transform the sigmoid was applied to
#' @param lr_in_delta TRUE multiplies step 7's delta by lr, as the spreadsheet's step 7 writes it
#' @return every intermediate by name (BIAS_NET_NAMES)
question_epoch <- function(X, y, state, lr, slope_of = "activation", lr_in_delta = FALSE) {
  wh <- state$wh; bh <- state$bh; wout <- state$wout; bout <- state$bout
  hidden_layer_input <- hidden_linear(X, wh, bh)
  hiddenlayer_activations <- hidden_activation(hidden_layer_input)
  forward <- output_forward(hiddenlayer_activations, wout, bout)
  output_layer_input <- forward$output_layer_input; output <- forward$output
  E <- output_error(y, output)
  if (slope_of == "input") {
    slope_output_layer <- derivatives_sigmoid(output_layer_input)  # rosetta: questions slope_of_input
    slope_hidden_layer <- derivatives_sigmoid(hidden_layer_input)  # rosetta: questions slope_of_input
  } else {
    slope_output_layer <- derivatives_sigmoid(output)
    slope_hidden_layer <- derivatives_sigmoid(hiddenlayer_activations)
  }
  d_output <- output_delta(E, slope_output_layer)
  if (lr_in_delta) {
    d_output <- E * slope_output_layer * lr  # rosetta: questions lr_in_delta
  }
  Error_at_hidden_layer <- hidden_error(d_output, wout)
  d_hiddenlayer <- hidden_delta(Error_at_hidden_layer, slope_hidden_layer)
  weights <- update_weights(X, wh, wout, hiddenlayer_activations, d_output, d_hiddenlayer, lr)
  wout <- weights$wout; wh <- weights$wh
  biases <- update_biases(bh, bout, d_output, d_hiddenlayer, lr, "by-neuron", "colSums")
  bout <- biases$bout; bh <- biases$bh
  mget(BIAS_NET_NAMES)
}

#' The sigmoid's slope at u by central differences: (sigmoid(u + h) - sigmoid(u - h)) / (2h)
#' @param u numeric matrix, the sigmoid's input
#' @param h step
sigmoid_slope_fd <- function(u, h) {
  (sigmoid(u + h) - sigmoid(u - h)) / (2 * h)  # rosetta: questions sigmoid_fd
}

#' The total error sum((y - predict(X, state))^2 / 2) as a function of the state
#' @param predict a network's predict function, predict(X, state)
#' @param X,y inputs and targets, laid out as predict expects
total_error <- function(predict, X, y) {
  function(state) sum((y - predict(X, state))^2 / 2)  # rosetta: questions total_error
}

#' The gradient of loss(state) with respect to state[[name]], by central differences
#' @param loss a function of the state returning one number
#' @param state named list of matrices
#' @param name which matrix to differentiate with respect to
#' @param h step
#' @return a matrix shaped like state[[name]]
fd_gradient <- function(loss, state, name, h) {
  w <- state[[name]]
  grad <- w
  for (k in seq_along(w)) {
    up <- state; up[[name]][k] <- w[k] + h
    down <- state; down[[name]][k] <- w[k] - h
    grad[k] <- (loss(up) - loss(down)) / (2 * h)  # rosetta: questions fd_gradient
  }
  grad
}

#' The bias network's prediction from per-neuron bias rows (1 x hidden, 1 x 1), laid out for the rows of X
#' @param X inputs, one sample per row
#' @param state list of wh, bh, wout, bout with one row per bias
per_neuron_predict <- function(X, state) {
  bias_net_predict(X, bias_net_start(X, state, "corrected"))
}

#' Gradient descent for `epochs` epochs, full batch or one sample at a time (stochastic)
#' @param epoch a network's epoch function, epoch(X, y, state, lr, ...), returning every intermediate
#' @param predict the network's predict function, predict(X, state), for the loss
#' @param X,y inputs and targets
#' @param state named list: the state the first epoch starts from
#' @param lr learning rate
#' @param epochs number of epochs
#' @param by NULL for full batch; 1 when rows are samples, 2 when columns are: one update per sample
#' @param ... passed on to epoch
#' @return list(state, loss): loss[e] is mean((y - predict(X, state))^2) / 2 for the state epoch e
#'   starts from, the last element for the state after the last epoch
descend <- function(epoch, predict, X, y, state, lr, epochs, by = NULL, ...) {
  loss <- numeric(epochs + 1)
  for (e in seq_len(epochs)) {
    loss[e] <- mean((y - predict(X, state))^2) / 2
    if (is.null(by)) {
      state <- epoch(X, y, state, lr, ...)[names(state)]
    } else {
      for (i in seq_len(dim(X)[by])) {
        Xi <- if (by == 1) X[i, , drop = FALSE] else X[, i, drop = FALSE]  # rosetta: questions sgd
        yi <- if (by == 1) y[i, , drop = FALSE] else y[, i, drop = FALSE]  # rosetta: questions sgd
        state <- epoch(Xi, yi, state, lr, ...)[names(state)]  # rosetta: questions sgd
      }
    }
  }
  loss[epochs + 1] <- mean((y - predict(X, state))^2) / 2
  list(state = state, loss = loss)
}
