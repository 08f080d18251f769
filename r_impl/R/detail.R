# The article's second network: "Understanding the implementation of Neural Networks from
# scratch in detail" (toy data and moons data). Columns of X are samples, no biases, sigmoid
# everywhere, loss (y - output)^2 / 2, the chain rule written out under the notebook's names.
# Read it beside python_impl/detail.py: same functions, same intermediate names, same step
# numbers (1-6 forward, 7-10 output-layer chain, 11-14 hidden-layer chain, 15-16 update).
# sigmoid() is bias_net.R's.

#' Intermediates in the order one epoch computes them (steps 1-16, the notebook's names)
DETAIL_NAMES <- c(
  "hiddenLayer_linearTransform", "hiddenLayer_activations", "outputLayer_linearTransform",
  "output", "error", "mean_error", "error_wrt_output", "output_wrt_outputLayer_LinearTransform",
  "outputLayer_LinearTransform_wrt_weights_hidden_output", "error_wrt_weights_hidden_output",
  "outputLayer_LinearTransform_wrt_hiddenLayer_activations",
  "hiddenLayer_activations_wrt_hiddenLayer_linearTransform",
  "hiddenLayer_linearTransform_wrt_weights_input_hidden", "error_wrt_weights_input_hidden",
  "weights_hidden_output", "weights_input_hidden"
)

#' The weights one epoch hands to the next
DETAIL_WEIGHTS <- c("weights_input_hidden", "weights_hidden_output")

#' The moons preprocessing: subtract the global minimum, divide by the global maximum, transpose
#' @param X raw inputs, one sample per row
#' @return the normalised inputs, one sample per column
detail_normalise <- function(X) {
  X <- X - min(X)  # rosetta: detail normalise
  X <- X / max(X)  # the maximum after the shift, as the article's in-place X /= X.max()  # rosetta: detail normalise
  t(X)  # rosetta: detail normalise
}

#' The normalisation as a twin's data preparation: the data matrices by name
#' @param X raw inputs, one sample per row
detail_normalise_data <- function(X) {
  list(X = detail_normalise(X))
}

#' Steps 1-2: Z1 = t(W_i) \%*\% X; h = sigmoid(Z1)
#' @param X inputs, one sample per column
#' @param weights_input_hidden inputs x hidden weights
hidden_forward <- function(X, weights_input_hidden) {
  hiddenLayer_linearTransform <- t(weights_input_hidden) %*% X  # rosetta: detail 1
  hiddenLayer_activations <- sigmoid(hiddenLayer_linearTransform)  # rosetta: detail 2
  list(hiddenLayer_linearTransform = hiddenLayer_linearTransform,
       hiddenLayer_activations = hiddenLayer_activations)
}

#' Steps 3-4: Z2 = t(W_h) \%*\% h; output = sigmoid(Z2)
#' @param hiddenLayer_activations step 2's result
#' @param weights_hidden_output hidden x output weights
output_layer_forward <- function(hiddenLayer_activations, weights_hidden_output) {
  outputLayer_linearTransform <- t(weights_hidden_output) %*% hiddenLayer_activations  # rosetta: detail 3
  output <- sigmoid(outputLayer_linearTransform)  # rosetta: detail 4
  list(outputLayer_linearTransform = outputLayer_linearTransform, output = output)
}

#' Step 5: error = (y - output)^2 / 2, one value per sample
#' @param y,output targets and predictions (1 x samples)
squared_error <- function(y, output) {
  error <- (y - output)^2 / 2  # R computes ^2 as x * x, as numpy's ** 2  # rosetta: detail 5
  error
}

#' Step 6: the epoch's mean error, as a 1x1 matrix like every other intermediate
#' @param error step 5's result
average_error <- function(error) {
  mean_error <- matrix(mean(error), 1, 1)  # rosetta: detail 6
  mean_error
}

#' Steps 7-9: the links dE/d(output), d(output)/dZ2, dZ2/dW_h
#' @param y,output,hiddenLayer_activations targets, predictions, hidden activations
output_layer_chain <- function(y, output, hiddenLayer_activations) {
  error_wrt_output <- -(y - output)  # rosetta: detail 7
  output_wrt_outputLayer_LinearTransform <- output * (1 - output)  # sigma' in terms of sigma  # rosetta: detail 8
  outputLayer_LinearTransform_wrt_weights_hidden_output <- hiddenLayer_activations  # rosetta: detail 9
  list(error_wrt_output = error_wrt_output,
       output_wrt_outputLayer_LinearTransform = output_wrt_outputLayer_LinearTransform,
       outputLayer_LinearTransform_wrt_weights_hidden_output = outputLayer_LinearTransform_wrt_weights_hidden_output)
}

#' Step 10: dE/dW_h = h \%*\% t(dE/d(output) * d(output)/dZ2), summed over the samples by \%*\%
#' @param outputLayer_LinearTransform_wrt_weights_hidden_output,error_wrt_output,output_wrt_outputLayer_LinearTransform steps 9, 7, 8
hidden_output_gradient <- function(outputLayer_LinearTransform_wrt_weights_hidden_output, error_wrt_output,
                                   output_wrt_outputLayer_LinearTransform) {
  error_wrt_weights_hidden_output <- outputLayer_LinearTransform_wrt_weights_hidden_output %*%  # rosetta: detail 10
    t(error_wrt_output * output_wrt_outputLayer_LinearTransform)
  error_wrt_weights_hidden_output
}

#' Steps 11-13: the links dZ2/dh, dh/dZ1, dZ1/dW_i
#' @param weights_hidden_output,hiddenLayer_activations,X as named
hidden_layer_chain <- function(weights_hidden_output, hiddenLayer_activations, X) {
  outputLayer_LinearTransform_wrt_hiddenLayer_activations <- weights_hidden_output  # rosetta: detail 11
  hiddenLayer_activations_wrt_hiddenLayer_linearTransform <- hiddenLayer_activations * (1 - hiddenLayer_activations)  # rosetta: detail 12
  hiddenLayer_linearTransform_wrt_weights_input_hidden <- X  # rosetta: detail 13
  list(outputLayer_LinearTransform_wrt_hiddenLayer_activations = outputLayer_LinearTransform_wrt_hiddenLayer_activations,
       hiddenLayer_activations_wrt_hiddenLayer_linearTransform = hiddenLayer_activations_wrt_hiddenLayer_linearTransform,
       hiddenLayer_linearTransform_wrt_weights_input_hidden = hiddenLayer_linearTransform_wrt_weights_input_hidden)
}

#' Step 14: dE/dW_i = X \%*\% t(dh/dZ1 * (W_h \%*\% (d(output)/dZ2 * dE/d(output))))
#' @param hiddenLayer_linearTransform_wrt_weights_input_hidden,hiddenLayer_activations_wrt_hiddenLayer_linearTransform,outputLayer_LinearTransform_wrt_hiddenLayer_activations,output_wrt_outputLayer_LinearTransform,error_wrt_output steps 13, 12, 11, 8, 7
input_hidden_gradient <- function(hiddenLayer_linearTransform_wrt_weights_input_hidden,
                                  hiddenLayer_activations_wrt_hiddenLayer_linearTransform,
                                  outputLayer_LinearTransform_wrt_hiddenLayer_activations,
                                  output_wrt_outputLayer_LinearTransform, error_wrt_output) {
  error_wrt_weights_input_hidden <- hiddenLayer_linearTransform_wrt_weights_input_hidden %*%  # rosetta: detail 14
    t(hiddenLayer_activations_wrt_hiddenLayer_linearTransform *
        (outputLayer_LinearTransform_wrt_hiddenLayer_activations %*%
           (output_wrt_outputLayer_LinearTransform * error_wrt_output)))
  error_wrt_weights_input_hidden
}

#' Steps 15-16: W <- W - lr * dE/dW, output layer first as the article writes it
#' @param weights_input_hidden,weights_hidden_output the weights the epoch started from
#' @param error_wrt_weights_input_hidden,error_wrt_weights_hidden_output steps 14 and 10
#' @param lr learning rate
gradient_descent <- function(weights_input_hidden, weights_hidden_output, error_wrt_weights_input_hidden,
                             error_wrt_weights_hidden_output, lr) {
  weights_hidden_output <- weights_hidden_output - lr * error_wrt_weights_hidden_output  # rosetta: detail 15
  weights_input_hidden <- weights_input_hidden - lr * error_wrt_weights_input_hidden  # rosetta: detail 16
  list(weights_hidden_output = weights_hidden_output, weights_input_hidden = weights_input_hidden)
}

#' Steps 1-16 once, from state (weights_input_hidden, weights_hidden_output)
#' @param X,y inputs (one sample per column) and targets (1 x samples)
#' @param state list of weights_input_hidden, weights_hidden_output
#' @param lr learning rate
#' @return every intermediate by name (DETAIL_NAMES)
detail_epoch <- function(X, y, state, lr) {
  weights_input_hidden <- state$weights_input_hidden
  weights_hidden_output <- state$weights_hidden_output
  hidden <- hidden_forward(X, weights_input_hidden)
  hiddenLayer_linearTransform <- hidden$hiddenLayer_linearTransform
  hiddenLayer_activations <- hidden$hiddenLayer_activations
  out <- output_layer_forward(hiddenLayer_activations, weights_hidden_output)
  outputLayer_linearTransform <- out$outputLayer_linearTransform; output <- out$output
  error <- squared_error(y, output)
  mean_error <- average_error(error)
  chain2 <- output_layer_chain(y, output, hiddenLayer_activations)
  error_wrt_output <- chain2$error_wrt_output
  output_wrt_outputLayer_LinearTransform <- chain2$output_wrt_outputLayer_LinearTransform
  outputLayer_LinearTransform_wrt_weights_hidden_output <- chain2$outputLayer_LinearTransform_wrt_weights_hidden_output
  error_wrt_weights_hidden_output <- hidden_output_gradient(
    outputLayer_LinearTransform_wrt_weights_hidden_output, error_wrt_output,
    output_wrt_outputLayer_LinearTransform)
  chain1 <- hidden_layer_chain(weights_hidden_output, hiddenLayer_activations, X)
  outputLayer_LinearTransform_wrt_hiddenLayer_activations <- chain1$outputLayer_LinearTransform_wrt_hiddenLayer_activations
  hiddenLayer_activations_wrt_hiddenLayer_linearTransform <- chain1$hiddenLayer_activations_wrt_hiddenLayer_linearTransform
  hiddenLayer_linearTransform_wrt_weights_input_hidden <- chain1$hiddenLayer_linearTransform_wrt_weights_input_hidden
  error_wrt_weights_input_hidden <- input_hidden_gradient(
    hiddenLayer_linearTransform_wrt_weights_input_hidden,
    hiddenLayer_activations_wrt_hiddenLayer_linearTransform,
    outputLayer_LinearTransform_wrt_hiddenLayer_activations,
    output_wrt_outputLayer_LinearTransform, error_wrt_output)
  updated <- gradient_descent(weights_input_hidden, weights_hidden_output, error_wrt_weights_input_hidden,
                              error_wrt_weights_hidden_output, lr)
  weights_hidden_output <- updated$weights_hidden_output
  weights_input_hidden <- updated$weights_input_hidden
  mget(DETAIL_NAMES)
}

#' The series kept after every epoch, whichever epochs keep every intermediate
DETAIL_HISTORY <- c("weights_input_hidden", "weights_hidden_output", "mean_error")

#' Steps 1-16 for `epochs` epochs from the given weights
#' @param X,y inputs (one sample per column) and targets (1 x samples)
#' @param weights_input_hidden,weights_hidden_output the weights the first epoch starts from
#' @param lr learning rate
#' @param epochs number of epochs
#' @param record which epochs (R's 1-based loop index) keep every intermediate; moons keeps
#'   ~4 GB of intermediates if all 10000 do
#' @return list(init, start, steps, history): init and start both hold the starting weights
#'   (there is nothing to spread), steps[[name]] has dim c(dim(name), length(record)),
#'   history[[name]] has dim c(dim(name), epochs) for the names in DETAIL_HISTORY; epoch i of
#'   R's 1-based loop is the article's epoch i - 1
detail_train <- function(X, y, weights_input_hidden, weights_hidden_output, lr, epochs,
                         record = seq_len(epochs)) {
  # the generic loop of the twin protocol (twin_run.R)
  start <- list(weights_input_hidden = weights_input_hidden, weights_hidden_output = weights_hidden_output)
  run <- twin_run(detail_epoch, list(X = X, y = y, lr = lr), start, epochs, record, history = DETAIL_HISTORY)
  list(init = start, start = start, steps = run$steps, history = run$history)
}

#' Steps 1-4 only: the trained network's output for the columns of X
#' @param X inputs, one sample per column
#' @param state list of weights_input_hidden, weights_hidden_output as training left them
detail_predict <- function(X, state) {
  hiddenLayer_activations <- hidden_forward(X, state$weights_input_hidden)$hiddenLayer_activations  # rosetta: detail predict
  output_layer_forward(hiddenLayer_activations, state$weights_hidden_output)$output  # rosetta: detail predict
}
