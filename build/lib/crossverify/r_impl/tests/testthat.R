library(testthat)
library(crossverify)

test_check("crossverify")
