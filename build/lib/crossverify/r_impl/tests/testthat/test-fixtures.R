# Checks of r_impl/R/fixtures.R (mirror: tests/test_fixtures.py).

test_that("hex text is read exactly, rows in order", {
  # subnormals as Python's float.hex() writes them: R 4.2.2 reads "-0x1p-1074" as -0
  m <- hex_matrix(list(shape = list(2, 2), values = list(list("0x1p+0", "0x1.8p+1"), list("-0x0.0000000000001p-1022", "0x0p+0"))))
  expect_equal(dim(m), c(2L, 2L))
  expect_identical(m[1, 2], 3)
  expect_identical(m[2, 1], -2^-1074)
})

test_that("decimal, NaN and missing fields are refused with the field's name", {
  expect_error(hex_number("0.1", "init.wh.values"), "field 'init.wh.values': '0.1' is not a C99 hex float")
  expect_error(hex_number("NaN", "init.bh.values"), "field 'init.bh.values'")
  expect_error(hex_matrix(list(shape = list(2, 1), values = list(list("0x1p+0"))), "data.y"),
               "field 'data.y.values': does not hold 2 rows of 1")
})

test_that("the bias-net fixture loads with the manifest's shapes", {
  s <- load_fixture("bias-net")
  expect_equal(dim(s$data$X), c(3L, 4L))
  expect_equal(dim(s$init$wh), c(4L, 3L))
  expect_identical(s$lr, 0.1)
  expect_identical(s$epochs, 5000L)
  expect_identical(s$data$X[2, ], c(1, 0, 1, 1))
})
