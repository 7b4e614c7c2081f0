using System;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime.Cpu.Layers;

// layer_norm(eps=1e-5) over the last axis, PyTorch semantics (biased variance, eps inside the square root):
//   x [rows, d] (rows = product of the leading dims)   weight [d]   bias [d]   y [rows, d]
//   mean[r] = Σⱼ x[r,j] / d;  rstd[r] = 1/√(Σⱼ (x[r,j] − mean)² / d + eps);  x̂ = (x − mean)·rstd;  y = x̂·weight + bias
//   mean, rstd [rows]: saved by the forward for the backward.
// Backward (llm.c's form), with dn = dy·weight:
//   dx = rstd·(dn − mean(dn) − x̂·mean(dn·x̂));  dweight += Σ_rows dy·x̂;  dbias += Σ_rows dy
public static unsafe class LayerNorm
{
    /// <summary>
    /// <c>y = layer_norm(x)·weight + bias</c> per row, saving <paramref name="mean"/> and <paramref name="rstd"/> [rows]
    /// for <see cref="Backward"/>. <paramref name="y"/> may be <paramref name="x"/> itself for inference (the backward reads x).
    /// </summary>
    public static void Forward(int rows, int dim, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> y, Span<float> mean, Span<float> rstd, float eps = 1e-5f)
    {
        CheckCommon(rows, dim, x, weight, mean, rstd);
        LayerArgs.Length(bias.Length, nameof(bias), "[d]", dim);
        LayerArgs.Length(y.Length, nameof(y), "[rows, d]", rows, dim);
        if (!(eps >= 0f)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be a non-negative number.");
        var w = weight.Slice(0, dim);
        var b = bias.Slice(0, dim);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * dim, dim);
            var yr = y.Slice(r * dim, dim);
            float m = TensorPrimitives.Sum(xr) / dim;
            TensorPrimitives.Subtract(xr, m, yr);                      // x − mean (two passes: no cancellation)
            float s = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(yr) / dim + eps);
            TensorPrimitives.Multiply(yr, s, yr);                      // x̂
            TensorPrimitives.FusedMultiplyAdd(yr, w, b, yr);           // x̂·weight + bias
            mean[r] = m;
            rstd[r] = s;
        }
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/> from the saved <paramref name="mean"/> and <paramref name="rstd"/>:
    /// <c>dx (+)= …</c> (empty skips it), <c>dWeight (+)= Σ dy·x̂</c>, <c>dBias (+)= Σ dy</c>.
    /// </summary>
    public static void Backward(int rows, int dim, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, Span<float> dBias,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        CheckCommon(rows, dim, x, weight, mean, rstd);
        LayerArgs.Length(dy.Length, nameof(dy), "[rows, d]", rows, dim);
        LayerArgs.OptionalLength(dx.Length, nameof(dx), "[rows, d]", rows, dim);
        LayerArgs.Length(dWeight.Length, nameof(dWeight), "[d]", dim);
        LayerArgs.Length(dBias.Length, nameof(dBias), "[d]", dim);
        if (!accumulateParameterGradients)
        {
            dWeight.Slice(0, dim).Clear();
            dBias.Slice(0, dim).Clear();
        }
        fixed (float* px = x)
        fixed (float* pw = weight)
        fixed (float* pdy = dy)
        fixed (float* pdx = dx)
        fixed (float* pdw = dWeight)
        fixed (float* pdb = dBias)
        {
            for (int r = 0; r < rows; r++)
            {
                float* xr = px + (long)r * dim;
                float* dyr = pdy + (long)r * dim;
                float m = mean[r], s = rstd[r];
                RowSums(dim, xr, dyr, pw, m, s, out float sumDn, out float sumDnXhat);
                RowUpdate(dim, xr, dyr, pw, m, s, sumDn / dim, sumDnXhat / dim,
                    dx.IsEmpty ? null : pdx + (long)r * dim, accumulateInputGradient, pdw, pdb);
            }
        }
    }

    /// <summary>Σ dn and Σ dn·x̂ over one row, dn = dy·weight.</summary>
    private static void RowSums(int dim, float* x, float* dy, float* w, float mean, float rstd, out float sumDn, out float sumDnXhat)
    {
        int j = 0;
        float a = 0f, b = 0f;
        if (Vector256.IsHardwareAccelerated && dim >= Vector256<float>.Count)
        {
            var vm = Vector256.Create(mean);
            var vs = Vector256.Create(rstd);
            var va = Vector256<float>.Zero;
            var vb = Vector256<float>.Zero;
            for (; j <= dim - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var xhat = (Vector256.Load(x + j) - vm) * vs;
                var dn = Vector256.Load(dy + j) * Vector256.Load(w + j);
                va += dn;
                vb += dn * xhat;
            }
            a = Vector256.Sum(va);
            b = Vector256.Sum(vb);
        }
        for (; j < dim; j++)
        {
            float xhat = (x[j] - mean) * rstd;
            float dn = dy[j] * w[j];
            a += dn;
            b += dn * xhat;
        }
        sumDn = a;
        sumDnXhat = b;
    }

    /// <summary>dx (+)= rstd·(dn − meanDn − x̂·meanDnXhat) (when dx is not null); dweight += dy·x̂; dbias += dy.</summary>
    private static void RowUpdate(int dim, float* x, float* dy, float* w, float mean, float rstd, float meanDn, float meanDnXhat,
        float* dx, bool accumulate, float* dw, float* db)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated && dim >= Vector256<float>.Count)
        {
            var vm = Vector256.Create(mean);
            var vs = Vector256.Create(rstd);
            var vmd = Vector256.Create(meanDn);
            var vmdx = Vector256.Create(meanDnXhat);
            for (; j <= dim - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var xhat = (Vector256.Load(x + j) - vm) * vs;
                var g = Vector256.Load(dy + j);
                (Vector256.Load(dw + j) + g * xhat).Store(dw + j);
                (Vector256.Load(db + j) + g).Store(db + j);
                if (dx == null) continue;
                var d = (g * Vector256.Load(w + j) - vmd - xhat * vmdx) * vs;
                (accumulate ? Vector256.Load(dx + j) + d : d).Store(dx + j);
            }
        }
        for (; j < dim; j++)
        {
            float xhat = (x[j] - mean) * rstd;
            float g = dy[j];
            dw[j] += g * xhat;
            db[j] += g;
            if (dx == null) continue;
            float d = (g * w[j] - meanDn - xhat * meanDnXhat) * rstd;
            dx[j] = accumulate ? dx[j] + d : d;
        }
    }

    private static void CheckCommon(int rows, int dim, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        LayerArgs.Positive(dim, nameof(dim));
        LayerArgs.Length(x.Length, nameof(x), "[rows, d]", rows, dim);
        LayerArgs.Length(weight.Length, nameof(weight), "[d]", dim);
        LayerArgs.Length(mean.Length, nameof(mean), "[rows]", rows);
        LayerArgs.Length(rstd.Length, nameof(rstd), "[rows]", rows);
    }
}
