/* R's arithmetic, compiled: the loops of python_impl/kernels.py's exact kernels, in C.
 *
 * Each function reproduces one loop of R 4.2 (src/main/array.c, summary.c, arithmetic.c) on
 * double arrays given through the buffer protocol (numpy arrays, any strides), writing into an
 * output array the caller allocates:
 *
 *   ref_matprod      z[i,j] = ((+0 + x[i,0]y[0,j]) + x[i,1]y[1,j]) + ...   reference dgemm/dgemv,
 *                    R's simple_matprod (double accumulator, each product rounded on its own)
 *   internal_matprod the same with a long-double accumulator: R's internal_matprod
 *   exp              the C library's exp per element (R's exp is math1 of exp), or a vector copy of
 *                    glibc's own algorithm where kernels.py's probe found it gives exp()'s bits
 *   blas_matprod     R's x %*% y on the BLAS R loaded: its branches, NaN/Inf test and BLAS call
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
#include <limits.h>
#include <stdint.h>

#pragma STDC FP_CONTRACT OFF

/* the GIL is let go only around work long enough to repay it (taking it back costs a mutex) */
#define BIG_WORK (1 << 17)
#define BEGIN_WORK(size) { PyThreadState *_save = (size) >= BIG_WORK ? PyEval_SaveThread() : NULL;
#define END_WORK if (_save != NULL) PyEval_RestoreThread(_save); }

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
 * not wait on one another. The double products take product_double below (faster loops, the same
 * sums); this one serves the long-double loop. */
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

/* The double loops below are built twice, for AVX2 and for the baseline, and the CPU picks one when
 * the module loads: wider lanes, the same separate multiply and add in each lane (no FMA: -ffp-contract=off) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

/* four doubles as one value: GCC's vector extension, element-wise IEEE multiply and add */
typedef double v4d __attribute__((vector_size(32)));

/* unaligned loads and stores of four doubles */
#define LOAD4(v, p) memcpy(&(v), (p), sizeof(v4d))
#define STORE4(p, v) memcpy((p), &(v), sizeof(v4d))

/* out[i, 0:4 NV] = sum over l in order of s(i, l) * lines[l, 0:4 NV], from +0, every partial sum of
 * one output in one lane of a register: s(i, l) at sdata + i s_outer + l s_l, lines packed 4 NV wide */
#define SMALL_ROWS(name, NV)                                                                         \
    CLONES static void name(Py_ssize_t outer, Py_ssize_t k, const char *sdata, Py_ssize_t s_outer,   \
                            Py_ssize_t s_l, const double *lines, double *out)                        \
    {                                                                                               \
        Py_ssize_t i, l;                                                                            \
        int v;                                                                                      \
        for (i = 0; i < outer; i++) {                                                               \
            v4d r[NV];                                                                              \
            const char *srow = sdata + i * s_outer;                                                 \
            for (v = 0; v < NV; v++)                                                                \
                r[v] = (v4d){0.0, 0.0, 0.0, 0.0};                                                   \
            for (l = 0; l < k; l++) {                                                               \
                double sc = *(const double *)(srow + l * s_l);                                      \
                v4d sv = {sc, sc, sc, sc};                                                          \
                const double *w = lines + l * (4 * NV);                                             \
                for (v = 0; v < NV; v++) {                                                          \
                    v4d p, x;                                                                       \
                    LOAD4(x, w + 4 * v);                                                            \
                    p = sv * x;                                                                     \
                    r[v] = r[v] + p;                                                                \
                }                                                                                   \
            }                                                                                       \
            for (v = 0; v < NV; v++)                                                                \
                STORE4(out + i * 4 * NV + 4 * v, r[v]);                                             \
        }                                                                                           \
    }
SMALL_ROWS(small_rows1, 1)
SMALL_ROWS(small_rows2, 2)
SMALL_ROWS(small_rows3, 3)
SMALL_ROWS(small_rows4, 4)

#if defined(__GNUC__) && !defined(__clang__)
#define HAVE_SMALL_COLS 1
typedef long long v4i __attribute__((vector_size(32)));

/* out[i, j] = sum over l in order of s(i, l) * M[j][l], from +0, for j < len <= 16 and i < outer <= 4,
 * M's rows contiguous in l (a transposed view): four rows at a time, each 4 x 4 block turned in
 * registers so that a lane is one output and its terms still arrive in l order */
CLONES static void small_cols(Py_ssize_t outer, Py_ssize_t k, const char *sdata, Py_ssize_t s_outer, Py_ssize_t s_l,
                              const char *mdata, Py_ssize_t row_step, Py_ssize_t len, double *out, Py_ssize_t width)
{
    Py_ssize_t g, l, i;
    int t;
    for (g = 0; g < len; g += 4) {
        const double *row[4];
        v4d r[4];
        for (t = 0; t < 4; t++) /* rows past the last repeat it; their lanes are not read */
            row[t] = (const double *)(mdata + (g + t < len ? g + t : len - 1) * row_step);
        for (i = 0; i < 4; i++)
            r[i] = (v4d){0.0, 0.0, 0.0, 0.0};
        for (l = 0; l + 4 <= k; l += 4) {
            v4d m0, m1, m2, m3, u0, u1, u2, u3, c[4];
            LOAD4(m0, row[0] + l);
            LOAD4(m1, row[1] + l);
            LOAD4(m2, row[2] + l);
            LOAD4(m3, row[3] + l);
            u0 = __builtin_shuffle(m0, m1, (v4i){0, 4, 2, 6});
            u1 = __builtin_shuffle(m0, m1, (v4i){1, 5, 3, 7});
            u2 = __builtin_shuffle(m2, m3, (v4i){0, 4, 2, 6});
            u3 = __builtin_shuffle(m2, m3, (v4i){1, 5, 3, 7});
            c[0] = __builtin_shuffle(u0, u2, (v4i){0, 1, 4, 5}); /* M[g..g+3][l] */
            c[1] = __builtin_shuffle(u1, u3, (v4i){0, 1, 4, 5});
            c[2] = __builtin_shuffle(u0, u2, (v4i){2, 3, 6, 7});
            c[3] = __builtin_shuffle(u1, u3, (v4i){2, 3, 6, 7});
            for (i = 0; i < outer; i++) {
                const char *sp = sdata + i * s_outer + l * s_l;
                for (t = 0; t < 4; t++) {
                    double sc = *(const double *)(sp + t * s_l);
                    v4d p = (v4d){sc, sc, sc, sc} * c[t];
                    r[i] = r[i] + p;
                }
            }
        }
        for (; l < k; l++) {
            v4d c = {row[0][l], row[1][l], row[2][l], row[3][l]};
            for (i = 0; i < outer; i++) {
                double sc = *(const double *)(sdata + i * s_outer + l * s_l);
                v4d p = (v4d){sc, sc, sc, sc} * c;
                r[i] = r[i] + p;
            }
        }
        for (i = 0; i < outer; i++)
            STORE4(out + i * width + g, r[i]);
    }
}
#else
#define HAVE_SMALL_COLS 0
#endif

/* row[q] (or +0, first) + s[0] w[0][q] + ... + s[take-1] w[take-1][q], added in that order, each
 * product rounded first: up to four terms per pass over the row */
static inline void add_terms(Py_ssize_t len, int take, int first, const double *s, const double *const *w,
                             double *restrict row)
{
    Py_ssize_t q;
    int t;
    for (q = 0; q < len; q++) {
        double acc = first ? 0.0 : row[q];
        for (t = 0; t < take; t++) {
            double p = s[t] * w[t][q];
            acc = acc + p;
        }
        row[q] = acc;
    }
}

/* row[q] = sum over l in order of s(l) * lines[l][q], from +0, four terms per pass */
CLONES static void long_row(Py_ssize_t len, Py_ssize_t k, const char *srow, Py_ssize_t s_l, const double *lines,
                            Py_ssize_t line_len, double *restrict row)
{
    Py_ssize_t l = 0;
    while (l < k) {
        double s[4];
        const double *w[4];
        int take = k - l >= 4 ? 4 : k - l >= 2 ? 2 : 1, t, first = l == 0;
        for (t = 0; t < take; t++) {
            s[t] = *(const double *)(srow + (l + t) * s_l);
            w[t] = lines + (l + t) * line_len;
        }
        /* constant take and first: each call compiles to its own vectorised loop */
        if (take == 4)
            first ? add_terms(len, 4, 1, s, w, row) : add_terms(len, 4, 0, s, w, row);
        else if (take == 2)
            first ? add_terms(len, 2, 1, s, w, row) : add_terms(len, 2, 0, s, w, row);
        else
            first ? add_terms(len, 1, 1, s, w, row) : add_terms(len, 1, 0, s, w, row);
        l += take;
    }
}

/* product_loop in double: lines of 16 or fewer outputs in registers (small_rows), longer ones
 * accumulated in place in z's rows (long_row); strided lines packed contiguous first */
static int product_double(const Matrix *a, const Matrix *b, Matrix *z)
{
    Py_ssize_t m = a->rows, k = a->cols, n = b->cols, i, j, l;
    int by_rows = n >= m;
    Py_ssize_t len = by_rows ? n : m, outer = by_rows ? m : n;
    const char *lines = by_rows ? b->data : a->data;
    Py_ssize_t line_step = by_rows ? b->s0 : a->s1, elem_step = by_rows ? b->s1 : a->s0;
    /* the scalar of line l for output line i: a[i,l] by rows, b[l,i] by columns */
    const char *sdata = by_rows ? a->data : b->data;
    Py_ssize_t s_outer = by_rows ? a->s0 : b->s1, s_l = by_rows ? a->s1 : b->s0;
    Py_ssize_t z_outer = by_rows ? z->s0 : z->s1, z_elem = by_rows ? z->s1 : z->s0;
    if (k == 0 || len == 0 || outer == 0) {
        for (i = 0; i < z->rows; i++)
            for (j = 0; j < z->cols; j++)
                AT(*z, i, j) = 0.0;
        return 0;
    }
    if (len <= 16) {
        Py_ssize_t nv = (len + 3) / 4, width = 4 * nv;
        double *packed = NULL, *out = malloc((size_t)(outer * width) * sizeof(double));
        /* a transposed view (lines contiguous along l) is read as it lies, no packing */
        int as_cols = HAVE_SMALL_COLS && line_step == (Py_ssize_t)sizeof(double) && outer <= 4
                      && elem_step % (Py_ssize_t)sizeof(double) == 0 && elem_step != (Py_ssize_t)sizeof(double);
        if (!as_cols && out != NULL)
            packed = calloc((size_t)(k * width), sizeof(double));
        if (out == NULL || (!as_cols && packed == NULL)) {
            free(packed);
            free(out);
            return -1;
        }
#if HAVE_SMALL_COLS
        if (as_cols)
            small_cols(outer, k, sdata, s_outer, s_l, lines, elem_step, len, out, width);
        else
#endif
        {
        for (l = 0; l < k; l++)
            for (j = 0; j < len; j++)
                packed[l * width + j] = *(const double *)(lines + l * line_step + j * elem_step);
        if (nv == 1)
            small_rows1(outer, k, sdata, s_outer, s_l, packed, out);
        else if (nv == 2)
            small_rows2(outer, k, sdata, s_outer, s_l, packed, out);
        else if (nv == 3)
            small_rows3(outer, k, sdata, s_outer, s_l, packed, out);
        else
            small_rows4(outer, k, sdata, s_outer, s_l, packed, out);
        }
        for (i = 0; i < outer; i++)
            for (j = 0; j < len; j++)
                *(double *)(z->data + i * z_outer + j * z_elem) = out[i * width + j];
        free(packed);
        free(out);
        return 0;
    } else {
        double *packed = NULL, *acc = NULL;
        Py_ssize_t line_len = line_step / (Py_ssize_t)sizeof(double);
        if (elem_step != (Py_ssize_t)sizeof(double) || line_step % (Py_ssize_t)sizeof(double) != 0) {
            packed = malloc((size_t)(k * len) * sizeof(double));
            if (packed == NULL)
                return -1;
            for (l = 0; l < k; l++)
                for (j = 0; j < len; j++)
                    packed[l * len + j] = *(const double *)(lines + l * line_step + j * elem_step);
            lines = (const char *)packed;
            line_len = len;
        }
        if (z_elem != (Py_ssize_t)sizeof(double)) {
            acc = malloc((size_t)len * sizeof(double));
            if (acc == NULL) {
                free(packed);
                return -1;
            }
        }
        for (i = 0; i < outer; i++) {
            double *row = acc != NULL ? acc : (double *)(z->data + i * z_outer);
            long_row(len, k, sdata + i * s_outer, s_l, (const double *)lines, line_len, row);
            if (acc != NULL)
                for (j = 0; j < len; j++)
                    *(double *)(z->data + i * z_outer + j * z_elem) = acc[j];
        }
        free(packed);
        free(acc);
        return 0;
    }
}

static PyObject *py_ref_matprod(PyObject *self, PyObject *args)
{
    Matrix a, b, z;
    int failed;
    if (get_three(args, &a, &b, &z) < 0)
        return NULL;
    BEGIN_WORK(a.rows * a.cols * b.cols)
    failed = product_double(&a, &b, &z);
    END_WORK
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
    BEGIN_WORK(a.rows * a.cols * b.cols)
    failed = product_loop(&a, &b, &z, 1);
    END_WORK
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

/* exp, eight or four lanes at a time: the algorithm of the C library's exp (glibc >= 2.28, from Arm's
 * optimized-routines, MIT licence), operation for operation as glibc's FMA build (__exp_fma, chosen on
 * CPUs with FMA and AVX2) computes it: exp(x) = 2^(k/128) exp(r), a table of 2^(i/128) and a degree-5
 * polynomial. Only where 2^-54 <= |x| < 512 (glibc's main path); every other lane calls exp() itself.
 * kernels.py switches it on only after it gave exp()'s bits on a probe of inputs (set_vector_exp). */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>
#define HAVE_VECTOR_EXP 1

/* 2^(i/128) ~= H_i (1 + T_i), i < 128: exp_tab[2i] the bits of T_i, exp_tab[2i + 1] those of H_i less
 * i << 45 (the exponent the index adds back), the layout glibc's algorithm reads. The values are
 * computed, not copied: kernels.py works them out in 60-digit decimal (H_i = RN(2^(i/128)),
 * T_i = RN(2^(i/128) / H_i - 1)) and hands them over with set_exp_table before its probe. */
static uint64_t exp_tab[256];
static int exp_tab_set = 0;

#define EXP_INVLN2N 0x1.71547652b82fep+7
#define EXP_NEGLN2HIN -0x1.62e42fefa0000p-8
#define EXP_NEGLN2LON -0x1.cf79abc9e3b3ap-47
#define EXP_C2 0x1.ffffffffffdbdp-2
#define EXP_C3 0x1.555555555543cp-3
#define EXP_C4 0x1.55555cf172b91p-5
#define EXP_C5 0x1.1111167a4d017p-7
#define EXP_SHIFT 0x1.8p52

/* glibc's order: kd = fma(x, InvLn2N, Shift); r = fma(kd', NegLn2loN, fma(kd', NegLn2hiN, x)) with
 * kd' = kd - Shift; tmp = fma(r2 r2, fma(r, C5, C4), fma(fma(r, C3, C2), r2, r + tail));
 * result fma(scale, tmp, scale), scale = 2^(k/128) from the table and the bits of kd */
__attribute__((target("avx2,fma"))) static void exp_avx2(const double *x, double *z, Py_ssize_t n)
{
    const __m256d invln2n = _mm256_set1_pd(EXP_INVLN2N), shift = _mm256_set1_pd(EXP_SHIFT);
    const __m256d hi = _mm256_set1_pd(EXP_NEGLN2HIN), lo = _mm256_set1_pd(EXP_NEGLN2LON);
    const __m256d c2 = _mm256_set1_pd(EXP_C2), c3 = _mm256_set1_pd(EXP_C3);
    const __m256d c4 = _mm256_set1_pd(EXP_C4), c5 = _mm256_set1_pd(EXP_C5);
    const __m256i low7 = _mm256_set1_epi64x(0x7f), top11 = _mm256_set1_epi64x(0x7ff);
    const __m256i below = _mm256_set1_epi64x(0x3c8), above = _mm256_set1_epi64x(0x408);
    Py_ssize_t i = 0, q;
    for (; i + 4 <= n; i += 4) {
        __m256d vx = _mm256_loadu_pd(x + i);
        __m256i abstop = _mm256_and_si256(_mm256_srli_epi64(_mm256_castpd_si256(vx), 52), top11);
        /* main path: 0x3c9 <= abstop <= 0x407 */
        __m256i in = _mm256_and_si256(_mm256_cmpgt_epi64(abstop, below), _mm256_cmpgt_epi64(above, abstop));
        __m256d kd, r, tail, scale, r2, t, tmp;
        __m256i ki, idx, sbits;
        vx = _mm256_and_pd(vx, _mm256_castsi256_pd(in)); /* other lanes: 0, no subnormal or NaN slow path */
        kd = _mm256_fmadd_pd(vx, invln2n, shift);
        ki = _mm256_castpd_si256(kd);
        kd = _mm256_sub_pd(kd, shift);
        r = _mm256_fmadd_pd(kd, hi, vx);
        r = _mm256_fmadd_pd(kd, lo, r);
        idx = _mm256_slli_epi64(_mm256_and_si256(ki, low7), 1);
        tail = _mm256_i64gather_pd((const double *)exp_tab, idx, 8);
        sbits = _mm256_add_epi64(_mm256_i64gather_epi64((const long long *)(exp_tab + 1), idx, 8),
                                 _mm256_slli_epi64(ki, 45));
        r2 = _mm256_mul_pd(r, r);
        t = _mm256_fmadd_pd(_mm256_fmadd_pd(r, c3, c2), r2, _mm256_add_pd(r, tail));
        tmp = _mm256_fmadd_pd(_mm256_mul_pd(r2, r2), _mm256_fmadd_pd(r, c5, c4), t);
        scale = _mm256_castsi256_pd(sbits);
        _mm256_storeu_pd(z + i, _mm256_fmadd_pd(scale, tmp, scale));
        if (_mm256_movemask_pd(_mm256_castsi256_pd(in)) != 0xf)
            for (q = i; q < i + 4; q++) {
                uint64_t bits;
                memcpy(&bits, &x[q], sizeof bits);
                if (((bits >> 52) & 0x7ff) < 0x3c9 || ((bits >> 52) & 0x7ff) > 0x407)
                    z[q] = exp(x[q]);
            }
    }
    for (; i < n; i++)
        z[i] = exp(x[i]);
}

/* exp_avx2's operations eight lanes at a time (AVX-512F), where the CPU has it */
__attribute__((target("avx512f"))) static void exp_avx512(const double *x, double *z, Py_ssize_t n)
{
    const __m512d invln2n = _mm512_set1_pd(EXP_INVLN2N), shift = _mm512_set1_pd(EXP_SHIFT);
    const __m512d hi = _mm512_set1_pd(EXP_NEGLN2HIN), lo = _mm512_set1_pd(EXP_NEGLN2LON);
    const __m512d c2 = _mm512_set1_pd(EXP_C2), c3 = _mm512_set1_pd(EXP_C3);
    const __m512d c4 = _mm512_set1_pd(EXP_C4), c5 = _mm512_set1_pd(EXP_C5);
    const __m512i low7 = _mm512_set1_epi64(0x7f), top11 = _mm512_set1_epi64(0x7ff);
    const __m512i below = _mm512_set1_epi64(0x3c8), above = _mm512_set1_epi64(0x408);
    Py_ssize_t i = 0, q;
    for (; i + 8 <= n; i += 8) {
        __m512d vx = _mm512_loadu_pd(x + i), kd, r, tail, scale, r2, t, tmp;
        __m512i abstop = _mm512_and_si512(_mm512_srli_epi64(_mm512_castpd_si512(vx), 52), top11), ki, idx, sbits;
        /* main path: 0x3c9 <= abstop <= 0x407; other lanes computed on 0, then by exp() */
        __mmask8 in = _mm512_cmpgt_epi64_mask(abstop, below) & _mm512_cmpgt_epi64_mask(above, abstop);
        vx = _mm512_maskz_mov_pd(in, vx);
        kd = _mm512_fmadd_pd(vx, invln2n, shift);
        ki = _mm512_castpd_si512(kd);
        kd = _mm512_sub_pd(kd, shift);
        r = _mm512_fmadd_pd(kd, hi, vx);
        r = _mm512_fmadd_pd(kd, lo, r);
        idx = _mm512_slli_epi64(_mm512_and_si512(ki, low7), 1);
        tail = _mm512_i64gather_pd(idx, (const double *)exp_tab, 8);
        sbits = _mm512_add_epi64(_mm512_i64gather_epi64(idx, (const long long *)(exp_tab + 1), 8),
                                 _mm512_slli_epi64(ki, 45));
        r2 = _mm512_mul_pd(r, r);
        t = _mm512_fmadd_pd(_mm512_fmadd_pd(r, c3, c2), r2, _mm512_add_pd(r, tail));
        tmp = _mm512_fmadd_pd(_mm512_mul_pd(r2, r2), _mm512_fmadd_pd(r, c5, c4), t);
        scale = _mm512_castsi512_pd(sbits);
        _mm512_storeu_pd(z + i, _mm512_fmadd_pd(scale, tmp, scale));
        if (in != 0xff)
            for (q = i; q < i + 8; q++)
                if (!((in >> (q - i)) & 1))
                    z[q] = exp(x[q]);
    }
    exp_avx2(x + i, z + i, n - i);
}

static int vector_exp_available(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* AVX-512F, and the CPU may run it: eight lanes; tests switch it off (set_vector_exp_wide) to check the four */
static int allow_wide = 1;

static int vector_exp_wide(void)
{
    return allow_wide && __builtin_cpu_supports("avx512f");
}
#else
#define HAVE_VECTOR_EXP 0
static int allow_wide = 0;
static int vector_exp_available(void) { return 0; }
static int vector_exp_wide(void) { return 0; }
#endif



/* set by set_vector_exp (kernels.py, after its probe): exp() computes through exp_avx2 */
static int use_vector_exp = 0;

static PyObject *py_set_exp_table(PyObject *self, PyObject *arg)
{
#if HAVE_VECTOR_EXP
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (view.len != (Py_ssize_t)sizeof exp_tab) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "the exp table is 256 64-bit words");
        return NULL;
    }
    memcpy(exp_tab, view.buf, sizeof exp_tab);
    PyBuffer_Release(&view);
    exp_tab_set = 1;
#else
    (void)arg;
#endif
    Py_RETURN_NONE;
}

static PyObject *py_set_vector_exp(PyObject *self, PyObject *arg)
{
    int previous = use_vector_exp, on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    if (on && !vector_exp_available()) {
        PyErr_SetString(PyExc_RuntimeError, "no vector exp on this CPU or build");
        return NULL;
    }
#if HAVE_VECTOR_EXP
    if (on && !exp_tab_set) {
        PyErr_SetString(PyExc_RuntimeError, "the vector exp needs its table first (set_exp_table)");
        return NULL;
    }
#endif
    use_vector_exp = on ? 1 + vector_exp_wide() : 0; /* 2: eight lanes (AVX-512F) */
    return PyBool_FromLong(previous != 0);
}

static PyObject *py_set_vector_exp_wide(PyObject *self, PyObject *arg)
{
    int previous = allow_wide, on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    allow_wide = on;
    if (use_vector_exp)
        use_vector_exp = 1 + vector_exp_wide();
    return PyBool_FromLong(previous);
}

/* a buffer's elements lie contiguous in C order */
static int contiguous(const Matrix *m)
{
    return m->s1 == (Py_ssize_t)sizeof(double) && (m->rows == 1 || m->s0 == m->cols * (Py_ssize_t)sizeof(double));
}

/* x and z hold their elements contiguous in one order (both C or both Fortran): one flat loop serves */
static int same_flat_layout(const Matrix *x, const Matrix *z)
{
    Py_ssize_t d = (Py_ssize_t)sizeof(double);
    int fortran_x = x->view.ndim == 2 && x->s0 == d && (x->cols == 1 || x->s1 == x->rows * d);
    int fortran_z = z->view.ndim == 2 && z->s0 == d && (z->cols == 1 || z->s1 == z->rows * d);
    return (contiguous(x) && contiguous(z)) || (fortran_x && fortran_z);
}

static PyObject *py_exp(PyObject *self, PyObject *args)
{
    Matrix x, z;
    Py_ssize_t i, j;
    if (get_two(args, &x, &z) < 0)
        return NULL;
    BEGIN_WORK(x.rows * x.cols * 8)
#if HAVE_VECTOR_EXP
    if (use_vector_exp && same_flat_layout(&x, &z)) {
        if (use_vector_exp == 2)
            exp_avx512((const double *)x.data, (double *)z.data, x.rows * x.cols);
        else
            exp_avx2((const double *)x.data, (double *)z.data, x.rows * x.cols);
    } else
#endif
    for (i = 0; i < x.rows; i++)
        for (j = 0; j < x.cols; j++)
            AT(z, i, j) = exp(AT(x, i, j));
    END_WORK
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

/* R's x %*% y on the BLAS R loaded (src/main/array.c, matprod), the routines given as addresses
 * (python_impl/rblas.py reads them from the library R loaded): dgemv("N") when y has one column,
 * dgemv("T") on y with x as the vector when x has one row, else dgemm("N", "N"); Fortran's hidden
 * character lengths passed as R 4.2 passes them (FCONE) */
typedef void (*dgemm_fn)(const char *, const char *, const int *, const int *, const int *, const double *,
                         const double *, const int *, const double *, const int *, const double *, double *,
                         const int *, size_t, size_t);
typedef void (*dgemv_fn)(const char *, const int *, const int *, const double *, const double *, const int *,
                         const double *, const int *, const double *, double *, const int *, size_t);

/* column-major and contiguous: the layout R hands its BLAS */
static int column_major(const Matrix *m)
{
    return m->view.ndim == 2 && (m->rows <= 1 || m->s0 == (Py_ssize_t)sizeof(double))
           && (m->cols <= 1 || m->s1 == m->rows * (Py_ssize_t)sizeof(double));
}

/* R's mayHaveNaNOrInf over the n doubles at x */
static int nan_or_inf(const double *x, Py_ssize_t n)
{
    Py_ssize_t i;
    if ((n & 1) != 0 && !isfinite(x[0]))
        return 1;
    for (i = n & 1; i < n; i += 2)
        if (!isfinite(x[i] + x[i + 1]))
            return 1;
    return 0;
}

/* blas_matprod(x, y, z, dgemm, dgemv, nan_switch): z = x %*% y as R computes it on that BLAS, all three
 * column-major; False (z untouched) when nan_switch is set and an operand may hold NaN or Inf: R then
 * takes its own double loop, which the caller runs */
static PyObject *py_blas_matprod(PyObject *self, PyObject *args)
{
    PyObject *ox, *oy, *oz;
    unsigned long long pgemm, pgemv;
    int nan_switch, nrx, ncx, nry, ncy, ione = 1;
    double one = 1.0, zero = 0.0;
    Matrix x, y, z;
    if (!PyArg_ParseTuple(args, "OOOKKp", &ox, &oy, &oz, &pgemm, &pgemv, &nan_switch))
        return NULL;
    if (get_matrix(ox, &x, 0) < 0)
        return NULL;
    if (get_matrix(oy, &y, 0) < 0) {
        PyBuffer_Release(&x.view);
        return NULL;
    }
    if (get_matrix(oz, &z, 1) < 0) {
        PyBuffer_Release(&x.view);
        PyBuffer_Release(&y.view);
        return NULL;
    }
    if (x.cols != y.rows || z.rows != x.rows || z.cols != y.cols || !column_major(&x) || !column_major(&y)
        || !column_major(&z) || x.rows > INT_MAX || x.cols > INT_MAX || y.cols > INT_MAX) {
        release(&x, &y, &z);
        PyErr_SetString(PyExc_ValueError, "expected column-major (m, k), (k, n) and (m, n) matrices of float64");
        return NULL;
    }
    nrx = (int)x.rows, ncx = (int)x.cols, nry = (int)y.rows, ncy = (int)y.cols;
    if (nan_switch && (nan_or_inf((const double *)x.data, x.rows * x.cols)
                       || nan_or_inf((const double *)y.data, y.rows * y.cols))) {
        release(&x, &y, &z);
        Py_RETURN_FALSE;
    }
    if (ncy == 1)
        ((dgemv_fn)(uintptr_t)pgemv)("N", &nrx, &ncx, &one, (const double *)x.data, &nrx, (const double *)y.data,
                                     &ione, &zero, (double *)z.data, &ione, 1);
    else if (nrx == 1) /* (xY)^T = Y^T x^T: a vector either way */
        ((dgemv_fn)(uintptr_t)pgemv)("T", &nry, &ncy, &one, (const double *)y.data, &nry, (const double *)x.data,
                                     &ione, &zero, (double *)z.data, &ione, 1);
    else
        ((dgemm_fn)(uintptr_t)pgemm)("N", "N", &nrx, &ncy, &ncx, &one, (const double *)x.data, &nrx,
                                     (const double *)y.data, &nry, &zero, (double *)z.data, &nrx, 1, 1);
    release(&x, &y, &z);
    Py_RETURN_TRUE;
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
    {"set_vector_exp_wide", py_set_vector_exp_wide, METH_O,
     "set_vector_exp_wide(on): eight lanes where AVX-512F exists (on, the default) or four; returns the previous"},
    {"set_exp_table", py_set_exp_table, METH_O,
     "set_exp_table(words): the vector exp's table of 2^(i/128), 256 uint64 words (kernels.py computes it)"},
    {"set_vector_exp", py_set_vector_exp, METH_O,
     "set_vector_exp(on): exp through the vector copy of the C library's algorithm; returns the previous setting"},
    {"sum_axis", py_sum_axis, METH_VARARGS, "sum_axis(x, axis, out): R's colSums (axis 0) / rowSums (axis 1)"},
    {"sum_all", py_sum_all, METH_O, "sum_all(x): R's sum() of a 1-d array, in long double"},
    {"mean", py_mean, METH_O, "mean(x): R's mean.default of a 1-d array"},
    {"same_bits", py_same_bits, METH_VARARGS, "same_bits(a, b): the two C-contiguous buffers hold the same bytes"},
    {"may_have_nan_or_inf", py_may_have_nan_or_inf, METH_O, "R's mayHaveNaNOrInf over a 1-d array"},
    {"blas_matprod", py_blas_matprod, METH_VARARGS,
     "blas_matprod(x, y, z, dgemm, dgemv, nan_switch): R's %*% on the BLAS at those addresses; False: R's own loop"},
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
    if (PyModule_AddIntConstant(mod, "LDBL_MANT_DIG", LDBL_MANT_DIG) < 0
        || PyModule_AddIntConstant(mod, "VECTOR_EXP", vector_exp_available()) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
