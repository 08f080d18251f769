/* R's arithmetic, compiled: the loops of python_impl/kernels.py's exact kernels, in C.
 *
 * Each function reproduces one loop of R 4.2 (src/main/array.c, summary.c, arithmetic.c) on
 * double arrays given through the buffer protocol (numpy arrays, any strides), writing into an
 * output array the caller allocates:
 *
 *   ref_matprod      z[i,j] = ((+0 + x[i,0]y[0,j]) + x[i,1]y[1,j]) + ...   reference dgemm/dgemv,
 *                    R's simple_matprod (double accumulator, each product rounded on its own)
 *   internal_matprod the same with a long-double accumulator: R's internal_matprod
 *   exp              the C library's exp per element (R's exp is math1 of exp)
 *   sum_axis         R's colSums/rowSums: one long-double accumulator per output, index order
 *   sum_all, mean    R's sum() and mean.default over the elements in the order given
 *
 * Built with -ffp-contract=off (setup.py): a fused multiply-add would round a*b + s once instead
 * of twice, and R's loops (compiled without contraction on x86_64's SSE2) round twice.
 * The pure-numpy kernels in kernels.py stay the reference; tests run both on the same inputs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

typedef struct {
    Py_buffer view;
    char *data;
    Py_ssize_t rows, cols, s0, s1; /* strides in bytes */
} Matrix;

/* A 2-d (or 1-d, as one row) buffer of doubles. */
static int get_matrix(PyObject *obj, Matrix *m, int writable)
{
    int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &m->view, flags) < 0)
        return -1;
    if (m->view.itemsize != 8 || m->view.format == NULL || strcmp(m->view.format, "d") != 0
        || m->view.ndim < 1 || m->view.ndim > 2) {
        PyBuffer_Release(&m->view);
        PyErr_SetString(PyExc_TypeError, "expected a 1-d or 2-d array of float64");
        return -1;
    }
    m->data = (char *)m->view.buf;
    if (m->view.ndim == 1) {
        m->rows = 1;
        m->cols = m->view.shape[0];
        m->s0 = 0;
        m->s1 = m->view.strides[0];
    } else {
        m->rows = m->view.shape[0];
        m->cols = m->view.shape[1];
        m->s0 = m->view.strides[0];
        m->s1 = m->view.strides[1];
    }
    return 0;
}

#define AT(m, i, j) (*(double *)((m).data + (i) * (m).s0 + (j) * (m).s1))

static int get_three(PyObject *args, Matrix *a, Matrix *b, Matrix *z)
{
    PyObject *oa, *ob, *oz;
    if (!PyArg_ParseTuple(args, "OOO", &oa, &ob, &oz))
        return -1;
    if (get_matrix(oa, a, 0) < 0)
        return -1;
    if (get_matrix(ob, b, 0) < 0) {
        PyBuffer_Release(&a->view);
        return -1;
    }
    if (get_matrix(oz, z, 1) < 0) {
        PyBuffer_Release(&a->view);
        PyBuffer_Release(&b->view);
        return -1;
    }
    if (a->cols != b->rows || z->rows != a->rows || z->cols != b->cols) {
        PyBuffer_Release(&a->view);
        PyBuffer_Release(&b->view);
        PyBuffer_Release(&z->view);
        PyErr_SetString(PyExc_ValueError, "shapes do not fit a (m, k) . (k, n) -> (m, n) product");
        return -1;
    }
    return 0;
}

static void release(Matrix *a, Matrix *b, Matrix *z)
{
    PyBuffer_Release(&a->view);
    PyBuffer_Release(&b->view);
    PyBuffer_Release(&z->view);
}

/* acc[q] (+)= s * v[q * step] for q < len, each product rounded to double before it is added. The
 * contiguous case is its own loop so that the compiler vectorises it: lanes are independent sums,
 * so no sum is reordered. */
#define AXPY(name, acc_t)                                                                           \
    static inline void name(Py_ssize_t len, double s, const char *v, Py_ssize_t step, acc_t *restrict acc) \
    {                                                                                               \
        Py_ssize_t q;                                                                               \
        if (step == (Py_ssize_t)sizeof(double)) {                                                   \
            const double *restrict w = (const double *)v;                                           \
            for (q = 0; q < len; q++) {                                                             \
                double p = s * w[q];                                                                \
                acc[q] += p;                                                                        \
            }                                                                                       \
        } else {                                                                                    \
            for (q = 0; q < len; q++) {                                                             \
                double p = s * *(const double *)(v + q * step);                                     \
                acc[q] += p;                                                                        \
            }                                                                                       \
        }                                                                                           \
    }
AXPY(axpy, double)
AXPY(axpy_long, long double)

/* z[i,j] = sum over l in order of (double)(a[i,l] * b[l,j]), from +0, in double or, with wide, long
 * double (R's internal loop). One row of z (one column, when z has more rows than columns) is
 * accumulated at a time: its sums are in flight together, each still added in l order, so they do
 * not wait on one another. */
static int product_loop(const Matrix *a, const Matrix *b, Matrix *z, int wide)
{
    Py_ssize_t m = a->rows, k = a->cols, n = b->cols, i, j, l;
    int by_rows = n >= m;
    Py_ssize_t len = by_rows ? n : m, outer = by_rows ? m : n;
    /* by rows: row i of z += a[i,l] * row l of b; by columns: column i of z += b[l,i] * column l of a */
    const char *lines = by_rows ? b->data : a->data;
    Py_ssize_t line_step = by_rows ? b->s0 : a->s1, elem_step = by_rows ? b->s1 : a->s0;
    double *acc = wide ? NULL : malloc((size_t)(len > 0 ? len : 1) * sizeof(double));
    long double *acc_long = wide ? malloc((size_t)(len > 0 ? len : 1) * sizeof(long double)) : NULL;
    double *packed = NULL;
    if (acc == NULL && acc_long == NULL)
        return -1;
    if (elem_step != (Py_ssize_t)sizeof(double) && outer > 1 && len > 1) {
        /* strided lines read more than once: copied contiguous first, so the inner loop vectorises */
        packed = malloc((size_t)(k * len > 0 ? k * len : 1) * sizeof(double));
        if (packed == NULL) {
            free(acc);
            free(acc_long);
            return -1;
        }
        for (l = 0; l < k; l++)
            for (j = 0; j < len; j++)
                packed[l * len + j] = *(const double *)(lines + l * line_step + j * elem_step);
        lines = (const char *)packed;
        line_step = len * (Py_ssize_t)sizeof(double);
        elem_step = sizeof(double);
    }
    for (i = 0; i < outer; i++) {
        Py_ssize_t q;
        for (q = 0; q < len; q++) {
            if (wide)
                acc_long[q] = 0.0L;
            else
                acc[q] = 0.0;
        }
        for (l = 0; l < k; l++) {
            double s = by_rows ? AT(*a, i, l) : AT(*b, l, i);
            if (wide)
                axpy_long(len, s, lines + l * line_step, elem_step, acc_long);
            else
                axpy(len, s, lines + l * line_step, elem_step, acc);
        }
        for (j = 0; j < len; j++) {
            double v = wide ? (double)acc_long[j] : acc[j];
            if (by_rows)
                AT(*z, i, j) = v;
            else
                AT(*z, j, i) = v;
        }
    }
    free(acc);
    free(acc_long);
    free(packed);
    return 0;
}

static PyObject *py_ref_matprod(PyObject *self, PyObject *args)
{
    Matrix a, b, z;
    int failed;
    if (get_three(args, &a, &b, &z) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    failed = product_loop(&a, &b, &z, 0);
    Py_END_ALLOW_THREADS
    release(&a, &b, &z);
    if (failed)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *py_internal_matprod(PyObject *self, PyObject *args)
{
    Matrix a, b, z;
    int failed;
    if (get_three(args, &a, &b, &z) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    failed = product_loop(&a, &b, &z, 1);
    Py_END_ALLOW_THREADS
    release(&a, &b, &z);
    if (failed)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* The two buffers of an elementwise call: input and output, same shape. */
static int get_two(PyObject *args, Matrix *x, Matrix *z)
{
    PyObject *ox, *oz;
    if (!PyArg_ParseTuple(args, "OO", &ox, &oz))
        return -1;
    if (get_matrix(ox, x, 0) < 0)
        return -1;
    if (get_matrix(oz, z, 1) < 0) {
        PyBuffer_Release(&x->view);
        return -1;
    }
    if (x->rows != z->rows || x->cols != z->cols) {
        PyBuffer_Release(&x->view);
        PyBuffer_Release(&z->view);
        PyErr_SetString(PyExc_ValueError, "input and output shapes differ");
        return -1;
    }
    return 0;
}

static PyObject *py_exp(PyObject *self, PyObject *args)
{
    Matrix x, z;
    Py_ssize_t i, j;
    if (get_two(args, &x, &z) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < x.rows; i++)
        for (j = 0; j < x.cols; j++)
            AT(z, i, j) = exp(AT(x, i, j));
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&x.view);
    PyBuffer_Release(&z.view);
    Py_RETURN_NONE;
}

/* sum_axis(x, axis, z): axis 0 sums down the rows (z is 1 x cols), axis 1 along them (z rows x 1);
 * one long-double accumulator per output from +0, terms in index order (R's colSums/rowSums). */
static PyObject *py_sum_axis(PyObject *self, PyObject *args)
{
    PyObject *ox, *oz;
    int axis;
    Matrix x, z;
    Py_ssize_t i, j, n;
    long double *acc;
    if (!PyArg_ParseTuple(args, "OiO", &ox, &axis, &oz))
        return NULL;
    if (get_matrix(ox, &x, 0) < 0)
        return NULL;
    if (get_matrix(oz, &z, 1) < 0) {
        PyBuffer_Release(&x.view);
        return NULL;
    }
    n = axis == 0 ? x.cols : x.rows;
    if (z.rows * z.cols != n || (axis != 0 && axis != 1)) {
        PyBuffer_Release(&x.view);
        PyBuffer_Release(&z.view);
        PyErr_SetString(PyExc_ValueError, "output does not fit the summed axis");
        return NULL;
    }
    acc = calloc((size_t)(n > 0 ? n : 1), sizeof(long double));
    if (acc == NULL) {
        PyBuffer_Release(&x.view);
        PyBuffer_Release(&z.view);
        return PyErr_NoMemory();
    }
    for (i = 0; i < x.rows; i++)
        for (j = 0; j < x.cols; j++)
            acc[axis == 0 ? j : i] += AT(x, i, j);
    for (i = 0; i < n; i++)  /* z is a row or a column: walk it as one sequence */
        AT(z, z.rows == 1 ? 0 : i, z.rows == 1 ? i : 0) = (double)acc[i];
    free(acc);
    PyBuffer_Release(&x.view);
    PyBuffer_Release(&z.view);
    Py_RETURN_NONE;
}

/* The elements of a 1-d buffer, as R's sum and mean read them. */
static int get_vector(PyObject *obj, Matrix *x)
{
    if (get_matrix(obj, x, 0) < 0)
        return -1;
    if (x->view.ndim != 1) {
        PyBuffer_Release(&x->view);
        PyErr_SetString(PyExc_ValueError, "expected a 1-d array");
        return -1;
    }
    return 0;
}

/* The k-th of several 1-d buffers that must share one length; on failure the first k are released. */
static int get_vector_into(PyObject *obj, Matrix *x, int writable, Matrix *all, Py_ssize_t k)
{
    Py_ssize_t j;
    int failed = get_matrix(obj, x, writable) < 0;
    if (!failed && (x->view.ndim != 1 || (k > 0 && x->cols != all[0].cols))) {
        PyBuffer_Release(&x->view);
        PyErr_SetString(PyExc_ValueError, "expected 1-d arrays of one length");
        failed = 1;
    }
    if (failed)
        for (j = 0; j < k; j++)
            PyBuffer_Release(&all[j].view);
    return failed ? -1 : 0;
}

/* R's rsum: LDOUBLE s = 0.0; s += x[i] in order; (double) s */
static PyObject *py_sum_all(PyObject *self, PyObject *arg)
{
    Matrix x;
    Py_ssize_t i;
    long double s = 0.0L;
    if (get_vector(arg, &x) < 0)
        return NULL;
    for (i = 0; i < x.cols; i++)
        s += AT(x, 0, i);
    PyBuffer_Release(&x.view);
    return PyFloat_FromDouble((double)s);
}

/* R's mean.default (summary.c, real_mean): s = sum/n in long double; if (double) s is finite,
 * s += sum(x - s)/n, both sums from 0 in long double; (double) s */
static PyObject *py_mean(PyObject *self, PyObject *arg)
{
    Matrix x;
    Py_ssize_t i, n;
    long double s = 0.0L, t = 0.0L;
    if (get_vector(arg, &x) < 0)
        return NULL;
    n = x.cols;
    for (i = 0; i < n; i++)
        s += AT(x, 0, i);
    s /= n;
    if (isfinite((double)s)) {
        for (i = 0; i < n; i++)
            t += (AT(x, 0, i) - s);
        s += t / n;
    }
    PyBuffer_Release(&x.view);
    return PyFloat_FromDouble((double)s);
}

/* same_bits(a, b): whether two buffers hold the same bytes (memcmp, at memory speed): the first test
 * of every comparison; only buffers that differ are looked at element by element (bridge/check/bitwise.py) */
static PyObject *py_same_bits(PyObject *self, PyObject *args)
{
    PyObject *oa, *ob;
    Py_buffer va, vb;
    int same;
    if (!PyArg_ParseTuple(args, "OO", &oa, &ob))
        return NULL;
    if (PyObject_GetBuffer(oa, &va, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (PyObject_GetBuffer(ob, &vb, PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&va);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    same = va.len == vb.len && memcmp(va.buf, vb.buf, (size_t)va.len) == 0;
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&va);
    PyBuffer_Release(&vb);
    return PyBool_FromLong(same);
}

/* may_have_nan_or_inf(x): R's mayHaveNaNOrInf (src/main/array.c) over a 1-d buffer in R's storage
 * order: the first element alone when the count is odd, then whether any pair's sum is not finite */
static PyObject *py_may_have_nan_or_inf(PyObject *self, PyObject *arg)
{
    Matrix x;
    Py_ssize_t i, n;
    int found = 0;
    if (get_vector(arg, &x) < 0)
        return NULL;
    n = x.cols;
    if ((n & 1) != 0 && !isfinite(AT(x, 0, 0)))
        found = 1;
    for (i = n & 1; !found && i < n; i += 2)
        if (!isfinite(AT(x, 0, i) + AT(x, 0, i + 1)))
            found = 1;
    PyBuffer_Release(&x.view);
    return PyBool_FromLong(found);
}

/* numpy's maximum: a when a >= b or a is NaN, else b */
static inline double np_maximum(double a, double b)
{
    return (a >= b || a != a) ? a : b;
}

/* The difference and magnitude of a leaf of a bound expression (bridge/check/bounds.py, Node.leaf),
 * in one pass over four 1-d buffers of one length: d = l == r ? 0 : |l - r|, m = max(|l|, |r|) */
static PyObject *py_leaf_bounds(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    Matrix v[4];
    Py_ssize_t i, n, k;
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &o[3]))
        return NULL;
    for (k = 0; k < 4; k++)
        if (get_vector_into(o[k], &v[k], k >= 2, v, k) < 0)
            return NULL;
    n = v[0].cols;
    for (i = 0; i < n; i++) {
        double l = AT(v[0], 0, i), r = AT(v[1], 0, i);
        AT(v[2], 0, i) = l == r ? 0.0 : fabs(l - r);
        AT(v[3], 0, i) = np_maximum(fabs(l), fabs(r));
    }
    for (k = 0; k < 4; k++)
        PyBuffer_Release(&v[k].view);
    Py_RETURN_NONE;
}

/* One more rounding on each side (bounds.py, _finish), in one pass over 1-d buffers of one length:
 * S' = max(S, max(|l|, |r|)); d = (P + c S') SLACK + floor, infinite where NaN; m = S' + d */
static PyObject *py_finish_bounds(PyObject *self, PyObject *args)
{
    PyObject *o[7];
    Matrix v[7];
    double c, slack, floor_;
    Py_ssize_t i, n, k;
    if (!PyArg_ParseTuple(args, "OOOOdddOOO", &o[0], &o[1], &o[2], &o[3], &c, &slack, &floor_, &o[4], &o[5], &o[6]))
        return NULL;
    for (k = 0; k < 7; k++)
        if (get_vector_into(o[k], &v[k], k >= 4, v, k) < 0)
            return NULL;
    n = v[0].cols;
    for (i = 0; i < n; i++) {
        double l = AT(v[0], 0, i), r = AT(v[1], 0, i), P = AT(v[2], 0, i), S = AT(v[3], 0, i);
        double s2 = np_maximum(S, np_maximum(fabs(l), fabs(r)));
        double cs = c * s2;
        double sum = P + cs;
        double scaled = sum * slack;
        double d = scaled + floor_;
        if (d != d)
            d = INFINITY;
        AT(v[4], 0, i) = s2;
        AT(v[5], 0, i) = d;
        AT(v[6], 0, i) = s2 + d;
    }
    for (k = 0; k < 7; k++)
        PyBuffer_Release(&v[k].view);
    Py_RETURN_NONE;
}

/* a * b + c with the product and the sum rounded separately, as the loops above compute them:
 * the test that proves this build does not fuse them (tests/test_kernels.py) */
static PyObject *py_mul_add(PyObject *self, PyObject *args)
{
    double a, b, c;
    if (!PyArg_ParseTuple(args, "ddd", &a, &b, &c))
        return NULL;
    return PyFloat_FromDouble(a * b + c);
}

static PyMethodDef methods[] = {
    {"ref_matprod", py_ref_matprod, METH_VARARGS, "ref_matprod(a, b, out): reference dgemm's sums, in double"},
    {"internal_matprod", py_internal_matprod, METH_VARARGS,
     "internal_matprod(a, b, out): R's internal %*% loop, rounded products summed in long double"},
    {"exp", py_exp, METH_VARARGS, "exp(x, out): the C library's exp per element"},
    {"sum_axis", py_sum_axis, METH_VARARGS, "sum_axis(x, axis, out): R's colSums (axis 0) / rowSums (axis 1)"},
    {"sum_all", py_sum_all, METH_O, "sum_all(x): R's sum() of a 1-d array, in long double"},
    {"mean", py_mean, METH_O, "mean(x): R's mean.default of a 1-d array"},
    {"same_bits", py_same_bits, METH_VARARGS, "same_bits(a, b): the two C-contiguous buffers hold the same bytes"},
    {"may_have_nan_or_inf", py_may_have_nan_or_inf, METH_O, "R's mayHaveNaNOrInf over a 1-d array"},
    {"leaf_bounds", py_leaf_bounds, METH_VARARGS, "leaf_bounds(l, r, d, m): a bound leaf's d and m in one pass"},
    {"finish_bounds", py_finish_bounds, METH_VARARGS,
     "finish_bounds(l, r, P, S, c, slack, floor, S_out, d_out, m_out): bounds.py's _finish in one pass"},
    {"mul_add", py_mul_add, METH_VARARGS, "mul_add(a, b, c): a * b + c as this build compiles it"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_exact", "R's arithmetic loops, compiled (python_impl/_exact.c).", -1, methods,
};

PyMODINIT_FUNC PyInit__exact(void)
{
    PyObject *mod = PyModule_Create(&module);
    if (mod == NULL)
        return NULL;
    /* the long double the loops accumulate in: kernels.py uses them only when it is numpy's (and R's) */
    if (PyModule_AddIntConstant(mod, "LDBL_MANT_DIG", LDBL_MANT_DIG) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
