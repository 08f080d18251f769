# The article's bias network: "Steps involved in Neural Network methodology" (steps 0-11), as
# coded in "Implementing NN using R", with the two bias switches of docs/FACTS.md section 5.
# Read it beside python_impl/bias_net.py: same functions, same intermediate names.

#' Intermediates in the order one epoch computes them (the article's names)
BIAS_NET_NAMES <- c(
  "hidden_layer_input", "hiddenlayer_activations", "output_layer_input", "output", "E",
  "slope_output_layer", "slope_hidden_layer", "d_output", "Error_at_hidden_layer",
  "d_hiddenlayer", "wout", "wh", "bout", "bh"
)

#' The weights one epoch hands to the next
BIAS_NET_WEIGHTS <- c("wh", "bh", "wout", "bout")

#' The four bias variants: the article's script, its correction, and each switch alone
VARIANTS <- list(
  "article" = list(bias_layout = "by-sample", bias_sums = "rowSums"),
  "corrected" = list(bias_layout = "by-neuron", bias_sums = "colSums"),
  "rowsums-only" = list(bias_layout = "by-neuron", bias_sums = "rowSums"),
  "colsums-only" = list(bias_layout = "by-sample", bias_sums = "colSums")
)

#' The two bias switches of a variant
#' @param variant one of names(VARIANTS)
variant_switches <- function(variant) {
  if (!is.character(variant) || length(variant) != 1 || !variant %in% names(VARIANTS)) {
    stop(sprintf("unknown variant '%s': choose one of %s", paste(variant, collapse = ","),
                 paste(names(VARIANTS), collapse = ", ")), call. = FALSE)
  }
  VARIANTS[[variant]]
}

#' Sigmoid activation
#' @param x numeric matrix
sigmoid <- function(x) {
  # sigma(x) = 1 / (1 + e^-x)
  1 / (1 + exp(-x))  # rosetta: bias-net sigmoid
}

#' Slope of the sigmoid, in terms of its output
#' @param x activations sigma(u)
derivatives_sigmoid <- function(x) {
  # sigma'(u) = sigma(u)(1 - sigma(u)), written in terms of the activation x = sigma(u)
  x * (1 - x)
}

#' Step 1 (R's part): replicate one bias per neuron to one row per sample
#' @param bias the biases drawn at step 1, one per neuron
#' @param n number of samples (rows of X)
#' @param bias_layout "by-sample" is the article's byrow = FALSE, "by-neuron" is byrow = TRUE
spread_bias <- function(bias, n, bias_layout) {
  # byrow = FALSE fills down the columns first, so bh[i, j] = bias[i] when n == length(bias)
  matrix(rep(bias, n), nrow = n, byrow = bias_layout == "by-neuron")
}

#' Step 1 (R's part) for the twin protocol: the state epoch 1 starts from, biases spread
#' @param X inputs, one sample per row
#' @param state list of the drawn wh, bh (1 x hidden), wout, bout (1 x outputs)
#' @param variant one of names(VARIANTS)
bias_net_start <- function(X, state, variant = "corrected") {
  layout <- variant_switches(variant)$bias_layout
  list(wh = state$wh, bh = spread_bias(state$bh, nrow(X), layout),
       wout = state$wout, bout = spread_bias(state$bout, nrow(X), layout))
}

#' Step 2: hidden_layer_input = X \%*\% wh + bh
#' @param X,wh,bh inputs, weights and bias matrix
hidden_linear <- function(X, wh, bh) {
  hidden_layer_input <- X %*% wh + bh  # rosetta: bias-net 2
  hidden_layer_input
}

#' Step 3: hiddenlayer_activations = sigmoid(hidden_layer_input)
#' @param hidden_layer_input step 2's result
hidden_activation <- function(hidden_layer_input) {
  hiddenlayer_activations <- sigmoid(hidden_layer_input)  # rosetta: bias-net 3
  hiddenlayer_activations
}

#' Step 4: output_layer_input = hiddenlayer_activations \%*\% wout + bout; output = sigmoid(.)
#' @param hiddenlayer_activations,wout,bout activations, weights and bias matrix
output_forward <- function(hiddenlayer_activations, wout, bout) {
  output_layer_input <- hiddenlayer_activations %*% wout + bout  # rosetta: bias-net 4
  output <- sigmoid(output_layer_input)  # rosetta: bias-net 4
  list(output_layer_input = output_layer_input, output = output)
}

#' Step 5: E = y - output
#' @param y,output targets and predictions
output_error <- function(y, output) {
  E <- y - output  # rosetta: bias-net 5
  E
}

#' Step 6: the sigmoid's slope at both layers
#' @param output,hiddenlayer_activations the two layers' activations
slopes <- function(output, hiddenlayer_activations) {
  slope_output_layer <- derivatives_sigmoid(output)  # rosetta: bias-net 6
  slope_hidden_layer <- derivatives_sigmoid(hiddenlayer_activations)  # rosetta: bias-net 6
  list(slope_output_layer = slope_output_layer, slope_hidden_layer = slope_hidden_layer)
}

#' Step 7: d_output = E * slope_output_layer (elementwise)
#' @param E,slope_output_layer steps 5 and 6
output_delta <- function(E, slope_output_layer) {
  d_output <- E * slope_output_layer  # rosetta: bias-net 7
  d_output
}

#' Step 8: Error_at_hidden_layer = d_output \%*\% t(wout)
#' @param d_output,wout step 7's delta and the output weights
hidden_error <- function(d_output, wout) {
  Error_at_hidden_layer <- d_output %*% t(wout)  # rosetta: bias-net 8
  Error_at_hidden_layer
}

#' Step 9: d_hiddenlayer = Error_at_hidden_layer * slope_hidden_layer (elementwise)
#' @param Error_at_hidden_layer,slope_hidden_layer steps 8 and 6
hidden_delta <- function(Error_at_hidden_layer, slope_hidden_layer) {
  d_hiddenlayer <- Error_at_hidden_layer * slope_hidden_layer  # rosetta: bias-net 9
  d_hiddenlayer
}

#' Step 10: wout += t(h) \%*\% d_output * lr; wh += t(X) \%*\% d_hiddenlayer * lr
#' @param X,wh,wout,hiddenlayer_activations,d_output,d_hiddenlayer,lr as named
update_weights <- function(X, wh, wout, hiddenlayer_activations, d_output, d_hiddenlayer, lr) {
  wout <- wout + (t(hiddenlayer_activations) %*% d_output) * lr  # rosetta: bias-net 10
  wh <- wh + (t(X) %*% d_hiddenlayer) * lr  # rosetta: bias-net 10
  list(wout = wout, wh = wh)
}

#' Step 11: update the bias matrices
#' @param bh,bout bias matrices (one row per sample)
#' @param d_output,d_hiddenlayer deltas of steps 7 and 9
#' @param lr learning rate
#' @param bias_layout,bias_sums the variant's two switches
update_biases <- function(bh, bout, d_output, d_hiddenlayer, lr, bias_layout, bias_sums) {
  if (bias_sums == "rowSums") {
    # the article's line: one sum per sample, recycled down the columns
    bout <- bout + rowSums(d_output) * lr  # rosetta: bias-net 11 article
    bh <- bh + rowSums(d_hiddenlayer) * lr  # rosetta: bias-net 11 article
  } else {
    # one sum per neuron, laid out the way the biases were (the commenter's recycled
    # colSums when the layout is the article's)
    bout <- bout + spread_bias(colSums(d_output), nrow(bout), bias_layout) * lr  # rosetta: bias-net 11
    bh <- bh + spread_bias(colSums(d_hiddenlayer), nrow(bh), bias_layout) * lr  # rosetta: bias-net 11
  }
  list(bout = bout, bh = bh)
}

#' Steps 2-11 once, from state (wh, bh, wout, bout): every intermediate by name
#' @param X,y inputs (one sample per row) and targets
#' @param state list of wh, bh, wout, bout
#' @param lr learning rate
#' @param variant one of names(VARIANTS)
bias_net_epoch <- function(X, y, state, lr, variant = "corrected") {
  switches <- variant_switches(variant)
  wh <- state$wh; bh <- state$bh; wout <- state$wout; bout <- state$bout
  hidden_layer_input <- hidden_linear(X, wh, bh)
  hiddenlayer_activations <- hidden_activation(hidden_layer_input)
  forward <- output_forward(hiddenlayer_activations, wout, bout)
  output_layer_input <- forward$output_layer_input; output <- forward$output
  E <- output_error(y, output)
  slope <- slopes(output, hiddenlayer_activations)
  slope_output_layer <- slope$slope_output_layer; slope_hidden_layer <- slope$slope_hidden_layer
  d_output <- output_delta(E, slope_output_layer)
  Error_at_hidden_layer <- hidden_error(d_output, wout)
  d_hiddenlayer <- hidden_delta(Error_at_hidden_layer, slope_hidden_layer)
  weights <- update_weights(X, wh, wout, hiddenlayer_activations, d_output, d_hiddenlayer, lr)
  wout <- weights$wout; wh <- weights$wh
  biases <- update_biases(bh, bout, d_output, d_hiddenlayer, lr,
                          switches$bias_layout, switches$bias_sums)
  bout <- biases$bout; bh <- biases$bh
  mget(BIAS_NET_NAMES)
}

#' Steps 0-11 for `epochs` epochs from the drawn weights: the whole trace
#' @param X,y inputs (one sample per row) and targets
#' @param wh,wout weight matrices drawn at step 1
#' @param bias_in,bias_out the biases drawn at step 1, one per neuron
#' @param lr learning rate
#' @param epochs number of epochs
#' @param variant one of names(VARIANTS)
#' @return list(init, start, steps): init holds the drawn weights, start the matrices epoch 1
#'   starts from, steps[[name]] has dim c(dim(name), epochs); epoch i of R's 1-based loop is
#'   the article's epoch i - 1
bias_net_train <- function(X, y, wh, bias_in, wout, bias_out, lr, epochs, variant = "corrected") {
  # the generic loop of the twin protocol (twin_run.R), from the state bias_net_start spreads
  init <- list(wh = wh, bh = matrix(bias_in, nrow = 1), wout = wout, bout = matrix(bias_out, nrow = 1))
  start <- bias_net_start(X, init, variant)
  run <- twin_run(bias_net_epoch, list(X = X, y = y, lr = lr, variant = variant), start, epochs)
  list(init = init, start = start, steps = run$steps)
}

#' Steps 2-4 only: the trained network's output for the rows of X
#' @param X inputs, one sample per row
#' @param state list of wh, bh, wout, bout as training left them
bias_net_predict <- function(X, state) {
  hiddenlayer_activations <- hidden_activation(hidden_linear(X, state$wh, state$bh))  # rosetta: bias-net predict
  output_forward(hiddenlayer_activations, state$wout, state$bout)$output  # rosetta: bias-net predict
}
